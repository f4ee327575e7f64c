/** Files a string of a snapshot holds: strings stay far below V8's longest whatever the share. */
const CHUNK = 4096;

/**
 * The files of one walk as poll mode keeps them between passes: in the walk's
 * order (comparePaths), their paths joined CHUNK at a time into strings, their
 * ends and stats in typed arrays: about the path's bytes and 20 bytes a file,
 * where a Map of paths to stat objects costs over a hundred more. Read in
 * order: each pass merges the next ordered walk with it.
 */
export class Snapshot {
  static readonly empty = new Snapshot([], new Uint32Array(0), new Float64Array(0), new Float64Array(0), 0);

  constructor(
    private readonly names: readonly string[],
    /** Where each path ends in its chunk's string (the next starts one further, past a NUL). */
    private readonly ends: Uint32Array,
    readonly sizes: Float64Array,
    readonly mtimes: Float64Array,
    readonly length: number,
  ) {}

  /** What it holds: the paths' characters and NULs, and the typed arrays. */
  get bytes(): number {
    let n = this.ends.byteLength + this.sizes.byteLength + this.mtimes.byteLength;
    for (const s of this.names) n += s.length;
    return n;
  }

  path(i: number): string {
    return this.names[Math.floor(i / CHUNK)].slice(i % CHUNK === 0 ? 0 : this.ends[i - 1] + 1, this.ends[i]);
  }
}

/** Builds a Snapshot from files added in order. */
export class SnapshotBuilder {
  private chunks: string[] = [];
  private pending: string[] = [];
  private offset = 0;
  private n = 0;
  private ends = new Uint32Array(1024);
  private sizes = new Float64Array(1024);
  private mtimes = new Float64Array(1024);

  add(path: string, size: number, mtimeMs: number): void {
    if (this.n === this.ends.length) this.grow();
    if (this.n % CHUNK === 0) this.offset = 0;
    this.offset += path.length;
    this.ends[this.n] = this.offset;
    this.offset += 1;
    this.sizes[this.n] = size;
    this.mtimes[this.n] = mtimeMs;
    this.n += 1;
    this.pending.push(path);
    if (this.pending.length >= CHUNK) this.flush();
  }

  finish(): Snapshot {
    this.flush();
    const n = this.n;
    return new Snapshot(this.chunks, this.ends.slice(0, n), this.sizes.slice(0, n), this.mtimes.slice(0, n), n);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(this.pending.join('\0'));
    this.pending = [];
  }

  private grow(): void {
    const size = this.ends.length * 2;
    const ends = new Uint32Array(size);
    ends.set(this.ends);
    this.ends = ends;
    const sizes = new Float64Array(size);
    sizes.set(this.sizes);
    this.sizes = sizes;
    const mtimes = new Float64Array(size);
    mtimes.set(this.mtimes);
    this.mtimes = mtimes;
  }
}
