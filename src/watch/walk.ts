import fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { IgnoreMatcher } from './ignore.js';
import { comparePaths } from './order.js';

export interface FileStat {
  size: number;
  mtimeMs: number;
}

export interface WalkError {
  /** Relative POSIX path ('' for the root). */
  path: string;
  code: string;
  message: string;
}

/** 'name': not valid UTF-8 (see nameOf); the path shows its bad bytes as `\xNN`. */
export type SkipReason = 'symlink' | 'fifo' | 'socket' | 'device' | 'name' | 'other';

export interface WalkResult {
  /** Regular files only, keyed by relative POSIX path. */
  entries: Map<string, FileStat>;
  /** Unreadable folders, entries that vanished mid-walk: recorded, never thrown. */
  errors: WalkError[];
  /** Entries that exist but are never synced, with why. */
  skipped: { path: string; reason: SkipReason }[];
  /** The root does not exist, is not a folder or cannot be read: the delete guard must refuse. */
  rootMissing: boolean;
  /** The root is readable but holds no file that is not ignored: the delete guard must refuse. */
  rootEmpty: boolean;
}

export interface WalkOptions {
  /** Yield to the event loop after this many entries, so the daemon keeps serving while a big tree is walked. */
  yieldEvery?: number;
  signal?: AbortSignal;
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

function errOf(e: unknown, rel: string): WalkError {
  const err = e as NodeJS.ErrnoException;
  return { path: rel, code: err.code ?? 'UNKNOWN', message: err.message };
}

/**
 * Stat-only walk of one mapping. Sync `readdirSync` + `lstatSync` in slices: one
 * awaited call per file is far slower (measurements.md), and the slices keep the
 * event loop responsive. Ignored folders are not descended into.
 *
 * Symlinks inside the tree are never followed (a link to `/` or to another mapping
 * would sync what the user did not map, and loops are possible): they are skipped
 * and listed in `skipped`. FIFOs, sockets and devices are skipped too: reading a
 * FIFO blocks forever. The root itself may be a symlink (a share mounted elsewhere).
 */
export async function walkMapping(root: string, ignore: IgnoreMatcher, opts: WalkOptions = {}): Promise<WalkResult> {
  const yieldEvery = opts.yieldEvery ?? 2000;
  const entries = new Map<string, FileStat>();
  const walker = new Walker(root, ignore, (rel, size, mtimeMs) => void entries.set(rel, { size, mtimeMs }), { signal: opts.signal });
  while (!walker.step(yieldEvery)) await yieldNow();
  return walker.finish(entries);
}

export type FileSink = (rel: string, size: number, mtimeMs: number) => void;

/**
 * The walk as a resumable loop, so the sliced walk above and the ordered walk
 * of the rescan's merge (merge.ts) are one implementation. Files go to `onFile`
 * rather than into a Map: the merge keeps only what differs.
 */
export class Walker {
  readonly errors: WalkError[] = [];
  readonly skipped: WalkResult['skipped'] = [];
  rootMissing = false;
  files = 0;
  private readonly base: string;
  /** Most folder entries held at once (ordered walk): what its memory follows. */
  peakHeld = 0;
  private readonly stack: string[] = [];
  private dirents: Dirents = [];
  private next = 0;
  private prefix = '';
  /** Ordered walk: the folders above the one being walked, each where it was left. */
  private readonly frames: Array<{ dirents: Dirents; next: number; prefix: string }> = [];
  private held = 0;
  /** Ordered walk: entries of no type in readdir, stat'ed to sort them. */
  private readonly signal: AbortSignal | undefined;
  private readonly ordered: boolean;
  private readonly statted = new WeakMap<object, fs.Stats>();

  /**
   * `ordered`: files reach `onFile` in comparePaths order (order.ts), each folder walked where its
   * name sorts, so a merge with the files table read in the same order needs no map of the tree.
   */
  constructor(
    root: string,
    private readonly ignore: IgnoreMatcher,
    private readonly onFile: FileSink,
    opts: { signal?: AbortSignal; ordered?: boolean } = {},
  ) {
    this.signal = opts.signal;
    this.ordered = opts.ordered ?? false;
    this.base = root.endsWith('/') ? root : `${root}/`;
    try {
      if (!fs.statSync(root).isDirectory()) {
        this.rootMissing = true;
        this.errors.push({ path: '', code: 'ENOTDIR', message: `${root} is not a folder` });
      }
    } catch (e) {
      this.rootMissing = true;
      this.errors.push(errOf(e, ''));
    }
    if (!this.rootMissing) this.stack.push('');
  }

  /** Handles up to `limit` entries; true when the walk is done. */
  step(limit: number): boolean {
    if (this.signal?.aborted) throw this.signal.reason;
    let budget = limit;
    for (;;) {
      while (this.next >= this.dirents.length) if (!this.open()) return true;
      if (budget-- <= 0) return false;
      this.entry(this.dirents[this.next++]);
    }
  }

  finish<E>(entries: E): { entries: E; errors: WalkError[]; skipped: WalkResult['skipped']; rootMissing: boolean; rootEmpty: boolean } {
    return {
      entries,
      errors: this.errors,
      skipped: this.skipped,
      rootMissing: this.rootMissing,
      rootEmpty: !this.rootMissing && this.files === 0,
    };
  }

  private open(): boolean {
    const up = this.frames.pop();
    if (up) {
      this.held -= this.dirents.length;
      ({ dirents: this.dirents, next: this.next, prefix: this.prefix } = up);
      return true;
    }
    if (this.stack.length === 0) return false;
    if (this.signal?.aborted) throw this.signal.reason;
    this.held = 0;
    this.read(this.stack.pop()!);
    return true;
  }

  /** Ordered walk: the folder's files come now, before the siblings that sort after it. */
  private descend(dirRel: string): void {
    if (this.signal?.aborted) throw this.signal.reason;
    this.frames.push({ dirents: this.dirents, next: this.next, prefix: this.prefix });
    this.read(dirRel);
  }

  private read(dirRel: string): void {
    this.prefix = dirRel === '' ? '' : `${dirRel}/`;
    this.next = 0;
    try {
      const dir = this.base + dirRel;
      this.dirents = fs.readdirSync(dir, { withFileTypes: true });
      // A name that is not UTF-8 comes back as a string with U+FFFD in it, a path that
      // does not exist: read such a folder again as bytes. Bytes for every folder cost
      // a sixth more per walk.
      if (this.dirents.some((d) => d.name.includes('\uFFFD')))
        this.dirents = fs.readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
      if (this.ordered) this.dirents = this.sorted(this.dirents);
    } catch (e) {
      this.dirents = [];
      if (dirRel === '') this.rootMissing = true;
      this.errors.push(errOf(e, dirRel));
    }
    this.held += this.dirents.length;
    if (this.held > this.peakHeld) this.peakHeld = this.held;
  }

  /** A folder's entries by name, a folder's name with its '/' (order.ts). */
  private sorted(dirents: Dirents): Dirents {
    const keys = dirents.map((d) => {
      const name = typeof d.name === 'string' ? d.name : d.name.toString('utf8');
      return this.isDir(d) ? `${name}/` : name;
    });
    const at = keys.map((_, i) => i).sort((i, j) => comparePaths(keys[i], keys[j]));
    return at.map((i) => dirents[i]);
  }

  private isDir(d: Dirents[number]): boolean {
    if (d.isDirectory()) return true;
    if (!untyped(d)) return false;
    try {
      const st = fs.lstatSync(this.base + this.prefix + (typeof d.name === 'string' ? d.name : d.name.toString('utf8')));
      this.statted.set(d, st);
      return st.isDirectory();
    } catch {
      return false; // entry() meets the error again and records it
    }
  }

  private entry(d: Dirents[number]): void {
    const { base, ignore } = this;
    const name = typeof d.name === 'string' ? d.name : this.nameOrSkip(d as fs.Dirent<Buffer>);
    if (name === null) return;
    const rel = this.prefix + name;
    let isDir = d.isDirectory();
    let isFile = !isDir && d.isFile();
    let st: fs.Stats | undefined;
    // Some network file systems report no type in readdir (DT_UNKNOWN): ask lstat.
    if (!isDir && !isFile && untyped(d)) {
      try {
        st = this.statted.get(d) ?? fs.lstatSync(base + rel);
      } catch (e) {
        this.errors.push(errOf(e, rel));
        return;
      }
      isDir = st.isDirectory();
      isFile = st.isFile();
      if (!isDir && !isFile) {
        this.skipped.push({ path: rel, reason: skipReason(st) });
        return;
      }
    }
    if (isDir) {
      if (ignore.shallow(rel, true)) return;
      if (this.ordered) this.descend(rel);
      else this.stack.push(rel);
    } else if (isFile) {
      if (ignore.shallow(rel, false)) return;
      try {
        st ??= fs.lstatSync(base + rel);
      } catch (e) {
        // ENOENT: deleted between readdir and lstat; the next event or rescan settles it.
        this.errors.push(errOf(e, rel));
        return;
      }
      if (st.isFile()) {
        this.files += 1;
        this.onFile(rel, st.size, st.mtimeMs);
      } else if (!st.isDirectory()) this.skipped.push({ path: rel, reason: skipReason(st) });
    } else if (!ignore.shallow(rel, false)) {
      this.skipped.push({ path: rel, reason: direntReason(d) });
    }
  }

  /** The entry's name, or null after listing it as skipped (unless ignored) when it is not UTF-8. */
  private nameOrSkip(d: fs.Dirent<Buffer>): string | null {
    const name = nameOf(d.name);
    // Ignore rules still apply to its readable part (`~$*` ignores `~$caf\xE9.doc`).
    if (name === null && !this.ignore.shallow(this.prefix + d.name.toString(), d.isDirectory())) {
      this.skipped.push({ path: this.prefix + escapeName(d.name), reason: 'name' });
    }
    return name;
  }
}

/**
 * The name as a string, or null when it is not valid UTF-8 (Linux allows any
 * bytes but '/' and NUL; old SMB shares hold Latin-1 names). Such a name cannot
 * be a Squidex file name nor a key in the state database, so it is skipped,
 * never guessed at: a guessed spelling would not lead back to the file.
 */
export function nameOf(raw: Buffer): string | null {
  return isUtf8(raw) ? raw.toString('utf8') : null;
}

/** A name for people: valid UTF-8 as it is, every other byte as `\xHH` (as printable() writes control characters). */
export function escapeName(raw: Buffer): string {
  let out = '';
  for (let i = 0; i < raw.length; ) {
    const b = raw[i];
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    const seq = n > 0 ? raw.subarray(i, i + n) : null;
    if (seq && seq.length === n && isUtf8(seq)) {
      out += seq.toString('utf8');
      i += n;
    } else {
      out += `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

type Dirents = Array<fs.Dirent | fs.Dirent<Buffer>>;

function untyped(d: Dirents[number]): boolean {
  return (
    !d.isDirectory() && !d.isFile() && !d.isSymbolicLink() && !d.isFIFO() && !d.isSocket() && !d.isBlockDevice() && !d.isCharacterDevice()
  );
}

function skipReason(s: fs.Stats): SkipReason {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isBlockDevice() || s.isCharacterDevice()) return 'device';
  return 'other';
}

function direntReason(d: fs.Dirent | fs.Dirent<Buffer>): SkipReason {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  if (d.isBlockDevice() || d.isCharacterDevice()) return 'device';
  return 'other';
}
