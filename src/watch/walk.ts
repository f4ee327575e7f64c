import fs from 'node:fs';
import type { IgnoreMatcher } from './ignore.js';

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

export type SkipReason = 'symlink' | 'fifo' | 'socket' | 'device' | 'other';

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
 * awaited call per file is ~20× slower (measurements.md), and the slices keep the
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
  const walker = new Walker(root, ignore, (rel, size, mtimeMs) => void entries.set(rel, { size, mtimeMs }), opts.signal);
  while (!walker.step(yieldEvery)) await yieldNow();
  return walker.finish(entries);
}

export type FileSink = (rel: string, size: number, mtimeMs: number) => void;

/**
 * The walk as a resumable loop, so the sliced walk above and the shared walk
 * of `once` (scan.ts, step(Infinity) on two threads) are one implementation. Files go to `onFile` rather than into a Map
 * of objects: the threaded walk packs them into arrays, less garbage at 100k files.
 */
export class Walker {
  readonly errors: WalkError[] = [];
  readonly skipped: WalkResult['skipped'] = [];
  rootMissing = false;
  files = 0;
  private readonly base: string;
  private readonly stack: string[] = [];
  private dirents: fs.Dirent[] = [];
  private next = 0;
  private prefix = '';

  /** `subtrees`: walk only these folders (relative), trusting the root; otherwise the whole root. */
  constructor(
    root: string,
    private readonly ignore: IgnoreMatcher,
    private readonly onFile: FileSink,
    private readonly signal?: AbortSignal,
    subtrees?: readonly string[],
  ) {
    this.base = root.endsWith('/') ? root : root + '/';
    if (subtrees) {
      this.stack.push(...subtrees);
      return;
    }
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
    let budget = limit;
    for (;;) {
      while (this.next >= this.dirents.length) if (!this.open()) return true;
      if (budget-- <= 0) return false;
      this.entry(this.dirents[this.next++]);
    }
  }

  /**
   * Walks whole folders until at least `minDirs` wait to be walked (or none
   * do) and hands those out: subtrees that several threads can share.
   */
  expand(minDirs: number): string[] {
    // Breadth first: depth first would walk a tree whose folders hold fewer than
    // minDirs subfolders each to the end without ever having minDirs waiting.
    while (this.stack.length > 0 && this.stack.length < minDirs) {
      this.open(true);
      while (this.next < this.dirents.length) this.entry(this.dirents[this.next++]);
    }
    return this.stack.splice(0);
  }

  finish<E>(entries: E): { entries: E; errors: WalkError[]; skipped: WalkResult['skipped']; rootMissing: boolean; rootEmpty: boolean } {
    return { entries, errors: this.errors, skipped: this.skipped, rootMissing: this.rootMissing, rootEmpty: !this.rootMissing && this.files === 0 };
  }

  private open(oldest = false): boolean {
    if (this.stack.length === 0) return false;
    if (this.signal?.aborted) throw this.signal.reason;
    const dirRel = (oldest ? this.stack.shift() : this.stack.pop())!;
    this.prefix = dirRel === '' ? '' : dirRel + '/';
    this.next = 0;
    try {
      this.dirents = fs.readdirSync(this.base + dirRel, { withFileTypes: true });
    } catch (e) {
      this.dirents = [];
      if (dirRel === '') this.rootMissing = true;
      this.errors.push(errOf(e, dirRel));
    }
    return true;
  }

  private entry(d: fs.Dirent): void {
    const { base, ignore } = this;
    const rel = this.prefix + d.name;
    let isDir = d.isDirectory();
    let isFile = !isDir && d.isFile();
    let st: fs.Stats | undefined;
    // Some network file systems report no type in readdir (DT_UNKNOWN): ask lstat.
    if (!isDir && !isFile && !d.isSymbolicLink() && !d.isFIFO() && !d.isSocket() && !d.isBlockDevice() && !d.isCharacterDevice()) {
      try {
        st = fs.lstatSync(base + rel);
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
      if (!ignore.shallow(rel, true)) this.stack.push(rel);
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
}

function skipReason(s: fs.Stats): SkipReason {
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  if (s.isBlockDevice() || s.isCharacterDevice()) return 'device';
  return 'other';
}

function direntReason(d: fs.Dirent): SkipReason {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isFIFO()) return 'fifo';
  if (d.isSocket()) return 'socket';
  if (d.isBlockDevice() || d.isCharacterDevice()) return 'device';
  return 'other';
}
