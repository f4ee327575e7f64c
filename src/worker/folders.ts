import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { SyncError, describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { ROOT_FOLDER_ID, type FolderResolver, type SquidexClient } from '../squidex/index.js';
import type { FileRow, State } from '../state/index.js';
import type { FileStat } from '../watch/index.js';
import { existsExactlySync } from './exact.js';
import { joinRemote, type MappingRuntime } from './mapping.js';

export interface FolderRename {
  from: string;
  to: string;
  files: number;
}

/**
 * Finds local folders that were renamed or moved as a whole: a folder whose
 * every synced file is gone, and a folder whose every file is new, holding
 * the same relative names with the same sizes and mtimes (a rename keeps
 * them). Such a pair is one asset-folder rename on the server instead of a
 * move per file.
 */
export function detectFolderRenames(root: string, entries: Map<string, FileStat>, rows: FileRow[]): FolderRename[] {
  const goneDirs = maximalDirs(
    rows.map((r) => r.path),
    (p) => !entries.has(p),
  ).filter((d) => !existsSync(join(root, d)) || !existsExactlySync(root, d));
  if (goneDirs.length === 0) return [];
  const known = new Set(rows.map((r) => r.path));
  // Any all-new folder may be the target (a folder moved into a new parent
  // makes that parent all-new too), so not only the highest ones.
  const newDirs = okDirs([...entries.keys()], (p) => !known.has(p));

  // Group each new file under every all-new folder above it: O(files × depth).
  const candidates = new Set(newDirs);
  const filesOf = new Map<string, Array<[string, number, number]>>();
  for (const [p, st] of entries) {
    if (known.has(p)) continue;
    for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) {
      if (!candidates.has(d)) continue;
      let list = filesOf.get(d);
      if (!list) filesOf.set(d, (list = []));
      list.push([p, st.size, st.mtimeMs]);
    }
  }
  const bySignature = new Map<string, string[]>();
  for (const [d, files] of filesOf) {
    const sig = signature(d, files);
    bySignature.set(sig, [...(bySignature.get(sig) ?? []), d]);
  }
  const renames: FolderRename[] = [];
  for (const d of goneDirs) {
    const under = rows.filter((r) => r.path.startsWith(`${d}/`));
    if (under.some((r) => r.size === null || r.mtimeMs === null || r.sha256 === null)) continue;
    const sig = signature(d, under.map((r) => [r.path, r.size!, r.mtimeMs!]));
    const candidates = bySignature.get(sig);
    // Two new folders with the same contents: ambiguous, leave it to per-file moves.
    if (candidates?.length === 1) {
      renames.push({ from: d, to: candidates[0], files: under.length });
      bySignature.delete(sig);
    }
  }
  return renames;
}

/** Folder → whether every file under it satisfies `pred`. */
function dirVerdicts(paths: string[], pred: (p: string) => boolean): Map<string, boolean> {
  const all = new Map<string, boolean>();
  for (const p of paths) {
    const ok = pred(p);
    for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) all.set(d, (all.get(d) ?? true) && ok);
  }
  return all;
}

/** Every folder all of whose files satisfy `pred` (at least one file). */
function okDirs(paths: string[], pred: (p: string) => boolean): string[] {
  return [...dirVerdicts(paths, pred)].filter(([, ok]) => ok).map(([d]) => d);
}

/** The highest such folders. */
function maximalDirs(paths: string[], pred: (p: string) => boolean): string[] {
  const all = dirVerdicts(paths, pred);
  return [...all].filter(([d, ok]) => ok && !(posix.dirname(d) !== '.' && all.get(posix.dirname(d)))).map(([d]) => d);
}

function signature(dir: string, files: Array<[string, number, number]>): string {
  return files
    .map(([p, size, mtime]) => `${p.slice(dir.length + 1)}\0${size}\0${Math.round(mtime)}`)
    .sort()
    .join('\n');
}

/**
 * Renames (and, if its parent changed, moves) the asset folder of `from` to
 * `to`, then moves every row under it in the files table. False when it
 * cannot be done safely (the folder is not known, or a folder of the new name
 * already exists there): the caller falls back to moving file by file.
 */
export async function applyFolderRename(
  mapping: MappingRuntime,
  rename: FolderRename,
  deps: { state: State; client: SquidexClient; resolver: FolderResolver; logger: Logger },
): Promise<boolean> {
  const fromRemote = joinRemote(mapping.remote, rename.from);
  const toRemote = joinRemote(mapping.remote, rename.to);
  const id = deps.state.folders.get(fromRemote);
  if (!id) return false;
  const log = deps.logger.child({ mapping: mapping.name });
  try {
    const parentPath = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
    const toParentId = parentPath(toRemote) === '' ? ROOT_FOLDER_ID : await deps.resolver.resolve(parentPath(toRemote));
    const newName = posix.basename(toRemote);
    // Another folder of the new name there: renaming would make two. Our own
    // folder already carrying the name is a rename done before a crash.
    if ((await deps.client.listFolders(toParentId)).some((f) => f.folderName === newName && f.id !== id)) return false;
    if (parentPath(fromRemote) !== parentPath(toRemote)) await deps.client.moveFolder(id, toParentId);
    if (posix.basename(fromRemote) !== newName) await deps.client.renameFolder(id, newName);
  } catch (e) {
    log.warn({ code: (e as SyncError).code }, 'renaming asset folder %s to %s failed, moving its files one by one: %s', fromRemote, toRemote, describeError(e));
    return false;
  }
  const moved = deps.state.files.renamePrefix(mapping.name, rename.from, rename.to);
  deps.state.folders.delete(fromRemote);
  deps.state.folders.set(toRemote, id);
  log.info({ from: rename.from, to: rename.to, files: moved }, 'folder renamed: %s → %s (%d files, nothing uploaded)', rename.from, rename.to, moved);
  return true;
}

/**
 * Under `deletes: delete`, asset folders we created for local folders that
 * no longer exist are removed once nothing is left in them. Only folders in
 * our cache, under the mapping's remote folder, never the mapping root.
 */
export async function removeEmptyFolders(
  mapping: MappingRuntime,
  deps: { state: State; client: SquidexClient; logger: Logger; cached: Array<[string, string]> },
): Promise<number> {
  if (mapping.deletes !== 'delete') return 0;
  const base = mapping.remote;
  let removed = 0;
  // Deepest first, so a parent emptied by removing its child goes too.
  const candidates = deps.cached
    .filter(([p]) => (base === '' ? p !== '' : p.startsWith(`${base}/`)))
    .sort(([a], [b]) => b.split('/').length - a.split('/').length);
  for (const [remotePath, id] of candidates) {
    const localDir = base === '' ? remotePath : remotePath.slice(base.length + 1);
    if (existsSync(join(mapping.local, localDir))) continue;
    try {
      if ((await deps.client.listFolders(id)).length > 0) continue;
      if ((await deps.client.findAssets({ parentId: id, top: 1 })).length > 0) continue;
      await deps.client.deleteFolder(id);
      removed += 1;
    } catch (e) {
      if (!(e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE'))) throw e;
    }
    deps.state.folders.delete(remotePath);
  }
  if (removed > 0) deps.logger.info({ mapping: mapping.name, removed }, 'removed %d empty asset folders (deletes: delete)', removed);
  return removed;
}
