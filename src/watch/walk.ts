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
  const res: WalkResult = { entries: new Map(), errors: [], skipped: [], rootMissing: false, rootEmpty: false };
  try {
    if (!fs.statSync(root).isDirectory()) {
      res.rootMissing = true;
      res.errors.push({ path: '', code: 'ENOTDIR', message: `${root} is not a folder` });
      return res;
    }
  } catch (e) {
    res.rootMissing = true;
    res.errors.push(errOf(e, ''));
    return res;
  }

  const base = root.endsWith('/') ? root : root + '/';
  const stack: string[] = [''];
  let budget = yieldEvery;
  while (stack.length > 0) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const dirRel = stack.pop()!;
    const prefix = dirRel === '' ? '' : dirRel + '/';
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(base + dirRel, { withFileTypes: true });
    } catch (e) {
      if (dirRel === '') res.rootMissing = true;
      res.errors.push(errOf(e, dirRel));
      continue;
    }
    for (const d of dirents) {
      const rel = prefix + d.name;
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      let st: fs.Stats | undefined;
      // Some network file systems report no type in readdir (DT_UNKNOWN): ask lstat.
      if (!isDir && !isFile && !d.isSymbolicLink() && !d.isFIFO() && !d.isSocket() && !d.isBlockDevice() && !d.isCharacterDevice()) {
        try {
          st = fs.lstatSync(base + rel);
        } catch (e) {
          res.errors.push(errOf(e, rel));
          continue;
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
        if (!isDir && !isFile) {
          res.skipped.push({ path: rel, reason: skipReason(st) });
          continue;
        }
      }
      if (isDir) {
        if (!ignore.shallow(rel, true)) stack.push(rel);
      } else if (isFile) {
        if (ignore.shallow(rel, false)) continue;
        try {
          st ??= fs.lstatSync(base + rel);
        } catch (e) {
          // ENOENT: deleted between readdir and lstat; the next event or rescan settles it.
          res.errors.push(errOf(e, rel));
          continue;
        }
        if (st.isFile()) res.entries.set(rel, { size: st.size, mtimeMs: st.mtimeMs });
        else if (!st.isDirectory()) res.skipped.push({ path: rel, reason: skipReason(st) });
      } else if (!ignore.shallow(rel, false)) {
        res.skipped.push({ path: rel, reason: direntReason(d) });
      }
      if (--budget <= 0) {
        budget = yieldEvery;
        await yieldNow();
      }
    }
  }
  res.rootEmpty = !res.rootMissing && res.entries.size === 0;
  return res;
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
