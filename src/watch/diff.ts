import type { FileStat } from './walk.js';

export interface DiffResult {
  /** On disk and new to the table, or size/mtime differ (hash them). */
  changed: string[];
  /** In the table with no file on disk (the delete guard decides what that means). */
  gone: string[];
}

export interface LeanDiffResult extends DiffResult {
  /** Rows marked missing whose file is present again (a share that came back). */
  back: string[];
  /** How many rows the table has (not the length of the flat list). */
  rows: number;
}

/**
 * Walk vs files table in O(n), over the flat rows of FilesRepo.listLean (path,
 * size, mtimeMs, missingSince as text, '' for NULL), also naming the missing
 * rows that are back. mtimes are compared to within 1 ms because a table may
 * store them truncated to integers while lstat gives sub-ms floats; treating
 * that as a change would re-hash the whole tree at every rescan. A row reserved
 * but never synced (no size or mtime) always counts as changed. Paths are
 * unique on both sides: when every entry has a row there is nothing new, and a
 * restart over an unchanged tree skips a Set of every path.
 */
export function diffLean(entries: Map<string, FileStat>, flat: readonly string[]): LeanDiffResult {
  const changed: string[] = [];
  const gone: string[] = [];
  const back: string[] = [];
  let known = 0;
  for (let i = 0; i + 3 < flat.length; i += 4) {
    const path = flat[i];
    const f = entries.get(path);
    if (f === undefined) {
      gone.push(path);
      continue;
    }
    known += 1;
    if (flat[i + 3] !== '') back.push(path);
    const size = flat[i + 1];
    const mtimeMs = flat[i + 2];
    if (size === '' || mtimeMs === '' || Number(size) !== f.size || Math.abs(Number(mtimeMs) - f.mtimeMs) >= 1) changed.push(path);
  }
  const rows = Math.floor(flat.length / 4);
  if (known === entries.size) return { changed, gone, back, rows };
  const seen = new Set<string>();
  for (let i = 0; i < flat.length; i += 4) seen.add(flat[i]);
  for (const p of entries.keys()) if (!seen.has(p)) changed.push(p);
  return { changed, gone, back, rows };
}
