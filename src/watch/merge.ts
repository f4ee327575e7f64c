import type { IgnoreMatcher } from './ignore.js';
import { comparePaths } from './order.js';
import { Walker, type FileStat, type WalkResult } from './walk.js';

/**
 * Rows of the files table with a path after `after`, in comparePaths order, at
 * most `limit`: flat, four fields a row (path, size, mtimeMs, missingSince as
 * text, '' for NULL), as FilesRepo.listAfter reads them.
 */
export type OrderedRows = (after: string, limit: number) => string[];

export interface StreamDiff extends Omit<WalkResult, 'entries'> {
  /**
   * New to the table, or another size or mtime (hash them), with the walk's
   * stat: those not handed to `sink` (all of them without one).
   */
  changed: Map<string, FileStat>;
  /** How many were handed to `sink` instead. */
  streamed: number;
  /** In the table with no file on disk (the delete guard decides what that means). */
  gone: string[];
  /** For each of `gone`, its row's missingSince as text ('' for NULL). */
  goneSince: string[];
  /** Rows marked missing whose file is present again (a share that came back). */
  back: string[];
  /** How many rows the table has. */
  rows: number;
  /** Files walked and compared (those set apart not counted). */
  files: number;
  /** Files `apart` chose, never compared with the table (sidecars); null without `apart`. */
  apart: Map<string, FileStat> | null;
  /** A file present and known to the table, one for each folder holding such files (the folder-rename search). */
  knownIn: string[];
  /** Most rows, folder entries and changed files held at once: what the memory follows. */
  peak: { rows: number; entries: number; changed: number };
}

/** Takes a changed file as the merge finds it (see StreamDiffOptions.sink). */
export type ChangedSink = (path: string, stat: FileStat) => void;

export interface StreamDiffOptions {
  /** Files taken out of the comparison: their rows count as gone, as in a walk without them. */
  apart?: (path: string) => boolean;
  signal?: AbortSignal;
  /** Yield to the event loop after this many entries (the daemon keeps serving meanwhile). */
  yieldEvery?: number;
  /** Rows read at a time. */
  page?: number;
  /**
   * Takes changed files as the merge goes instead of holding them: those with
   * a row at once; those new to the table once no row is left ahead of the
   * walk and none was gone (then no folder rename can claim them), with the
   * new ones held until then. Only what is held is in `changed`.
   */
  sink?: ChangedSink;
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The rescan's comparison of the disk with the files table as one ordered
 * merge: the walk yields files in path order (Walker, ordered) and the table
 * is read in the same order a page at a time, so what is held follows the
 * widest folder and one page of rows, never the whole tree or table. Only what
 * differs is kept. Rows are read again after each yield: jobs that finish
 * meanwhile change them, and a comparison with rows read before that would
 * queue those files again.
 *
 * mtimes are compared to within 1 ms: the table may store them truncated to
 * integers while lstat gives sub-ms floats. A row reserved but never synced
 * (no size or mtime) always counts as changed.
 */
export async function diffStream(
  root: string,
  ignore: IgnoreMatcher,
  rows: OrderedRows,
  opts: StreamDiffOptions = {},
): Promise<StreamDiff> {
  const merge = openMerge(rows, opts);
  const walker = new Walker(root, ignore, (rel, size, mtimeMs) => merge.file(rel, size, mtimeMs), { signal: opts.signal, ordered: true });
  const every = opts.yieldEvery ?? 2000;
  while (!walker.step(every)) {
    await yieldNow();
    merge.reread();
  }
  opts.signal?.throwIfAborted();
  const { entries: _none, ...walk } = walker.finish(null);
  return merge.result(walk, walker.peakHeld);
}

/** A merge fed by a walk already under way (`once` walks on a thread); null when that walk failed. */
export type WalkFeed = (rows: OrderedRows, opts: FeedOptions) => Promise<StreamDiff | null>;

/** What a merge fed from elsewhere is given. */
export type FeedOptions = Pick<StreamDiffOptions, 'apart' | 'sink'>;

/** What a walk says beside its files. */
export type WalkOutcome = Omit<WalkResult, 'entries'>;

/** A merge fed from elsewhere (a walk on another thread, in the same order). */
export function openMerge(rows: OrderedRows, opts: Pick<StreamDiffOptions, 'apart' | 'page' | 'sink'> = {}): Merge {
  return new Merge(rows, opts.page ?? 1024, opts.apart, opts.sink);
}

export class Merge {
  readonly changed = new Map<string, FileStat>();
  readonly gone: string[] = [];
  readonly goneSince: string[] = [];
  readonly back: string[] = [];
  readonly knownIn: string[] = [];
  readonly apartFiles: Map<string, FileStat> | null;
  rows = 0;
  files = 0;
  peakRows = 0;
  peakChanged = 0;
  streamed = 0;
  /** Files new to the table go to the sink as found: no row is left ahead and none was gone. */
  private streaming = false;
  private page: string[] = [];
  private at = 0;
  private end = false;
  /** The last row taken: the next page starts after it. */
  private after = '';
  private lastKnownDir: string | null = null;
  /** The last file the walk handed in: rows before it that appear later were written after it was passed. */
  private walked = '';

  constructor(
    private readonly read: OrderedRows,
    private readonly pageRows: number,
    private readonly apart?: (path: string) => boolean,
    private readonly sink?: ChangedSink,
  ) {
    this.apartFiles = apart ? new Map() : null;
  }

  file(rel: string, size: number, mtimeMs: number): void {
    this.walked = rel;
    if (this.apartFiles && this.apart!(rel)) {
      this.apartFiles.set(rel, { size, mtimeMs });
      return;
    }
    this.files += 1;
    for (let p = this.peek(); p !== null; p = this.peek()) {
      const c = comparePaths(p, rel);
      if (c > 0) break;
      const { page, at } = this;
      this.take();
      if (c < 0) {
        this.gone.push(p);
        this.goneSince.push(page[at + 3]);
        continue;
      }
      if (page[at + 3] !== '') this.back.push(rel);
      const s = page[at + 1];
      const m = page[at + 2];
      // Known to the table: never the target of a folder rename, so not held for the search.
      if (s === '' || m === '' || Number(s) !== size || Math.abs(Number(m) - mtimeMs) >= 1) this.found(rel, size, mtimeMs, true);
      const slash = rel.lastIndexOf('/');
      const dir = slash < 0 ? '' : rel.slice(0, slash);
      if (dir !== this.lastKnownDir) {
        this.lastKnownDir = dir;
        this.knownIn.push(rel);
      }
      return;
    }
    // No row left ahead and none gone: no folder can have been renamed, so nothing new needs holding.
    if (this.sink && !this.streaming && this.gone.length === 0 && this.peek() === null) {
      this.streaming = true;
      for (const [p, st] of this.changed) this.emit(p, st);
      this.changed.clear();
    }
    this.found(rel, size, mtimeMs, this.streaming);
  }

  private found(rel: string, size: number, mtimeMs: number, stream: boolean): void {
    if (stream && this.sink) {
      this.emit(rel, { size, mtimeMs });
      return;
    }
    this.changed.set(rel, { size, mtimeMs });
    if (this.changed.size > this.peakChanged) this.peakChanged = this.changed.size;
  }

  private emit(rel: string, stat: FileStat): void {
    this.streamed += 1;
    this.sink!(rel, stat);
  }

  /** The diff, once the walk has handed in every file. */
  result(walk: WalkOutcome, peakEntries: number): StreamDiff {
    this.finish();
    return {
      ...walk,
      changed: this.changed,
      streamed: this.streamed,
      gone: this.gone,
      goneSince: this.goneSince,
      back: this.back,
      rows: this.rows,
      files: this.files,
      apart: this.apartFiles,
      knownIn: this.knownIn,
      peak: { rows: this.peakRows, entries: peakEntries, changed: this.peakChanged },
    };
  }

  /** Every row left is gone. */
  private finish(): void {
    for (let p = this.peek(); p !== null; p = this.peek()) {
      this.gone.push(p);
      this.goneSince.push(this.page[this.at + 3]);
      this.take();
    }
  }

  /**
   * Drops the page read before a yield; the next comparison reads what is in
   * the table now, from where the walk is: a row written meanwhile for a file
   * already passed was counted as new then, and is not gone.
   */
  reread(): void {
    if (comparePaths(this.walked, this.after) > 0) this.after = this.walked;
    this.page = [];
    this.at = 0;
    this.end = false;
  }

  private peek(): string | null {
    if (this.at >= this.page.length) {
      if (this.end) return null;
      this.page = this.read(this.after, this.pageRows);
      this.at = 0;
      const n = this.page.length >> 2;
      this.end = n < this.pageRows;
      if (n > this.peakRows) this.peakRows = n;
      if (n === 0) return null;
    }
    return this.page[this.at];
  }

  private take(): void {
    this.after = this.page[this.at];
    this.at += 4;
    this.rows += 1;
  }
}
