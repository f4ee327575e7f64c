import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { untilAborted } from '../lib/abort.js';
import { SyncError, describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { ROOT_FOLDER_ID, type FolderResolver, type SquidexClient } from '../squidex/index.js';
import type { FileRow, State } from '../state/index.js';
import type { FileStat } from '../watch/index.js';
import { isCreatedByUs, unmarkCreated } from './emptied.js';
import { existsExactlySync } from './exact.js';
import { joinRemote, type MappingRuntime } from './mapping.js';

export { removeEmptyFolders } from './emptied.js';

export interface FolderRename {
  from: string;
  to: string;
  files: number;
}

/**
 * What the search needs of a walk (a Map of it will do): every walked file
 * new to the table with its stat, and among `keys` at least one known file of
 * each folder that holds one.
 */
export interface WalkedFiles {
  get(path: string): FileStat | undefined;
  keys(): Iterable<string>;
}

/** What the search reads of the files table: never all of it. */
export interface KnownRows {
  /** Whether a path of `WalkedFiles.keys()` has a row. */
  has(path: string): boolean;
  /** The rows under a folder, at most `limit` (all without one). */
  under(dir: string, limit?: number): FileRow[];
}

/** Looks up a file under the new name: its size and mtime, or undefined when there is none. */
export type StatOf = (relPath: string) => Pick<FileStat, 'size' | 'mtimeMs'> | undefined;

/**
 * Finds local folders that were renamed or moved as a whole, each on its own,
 * whatever else changed in the same rescan: a folder that is gone from disk
 * with every synced file under it, and a folder whose every file is new and
 * which holds each of those files under the same relative name, size and
 * mtime (a rename keeps them). Files added to it meanwhile do not matter; they
 * are uploaded into the renamed folder. Such a pair is one asset-folder rename
 * (or move) on the server instead of a move per file. What is read of the
 * table follows the gone rows (`gone`: those whose file is not on disk), not
 * the table.
 */
export function detectFolderRenames(root: string, entries: WalkedFiles, gone: readonly string[], table: KnownRows): FolderRename[] {
  const goneDirs = goneFolders(root, gone, table);
  if (goneDirs.length === 0) return [];
  const keys = [...entries.keys()];
  const isNew = (p: string): boolean => !table.has(p);
  // Any all-new folder may be the target (a folder moved into a new parent makes that parent all-new too).
  const newDirs = new Set(allDirs(keys, isNew));
  const newByKey = new Map<string, string[]>();
  for (const p of keys) {
    if (!isNew(p)) continue;
    const st = entries.get(p)!;
    const k = fileKey(posix.basename(p), st.size, st.mtimeMs);
    newByKey.set(k, [...(newByKey.get(k) ?? []), p]);
  }
  const renames: FolderRename[] = [];
  const taken = new Set<string>();
  for (const from of goneDirs) {
    const under = table.under(from);
    const anchor = under.find((r) => r.size !== null && r.mtimeMs !== null);
    if (!anchor) continue;
    const rel = anchor.path.slice(from.length + 1);
    const targets = (newByKey.get(fileKey(posix.basename(rel), anchor.size!, anchor.mtimeMs!)) ?? [])
      .filter((p) => p.endsWith(`/${rel}`))
      .map((p) => p.slice(0, p.length - rel.length - 1))
      .filter((to) => newDirs.has(to) && !taken.has(to) && holdsAll(from, to, under, (p) => entries.get(p)));
    // Two new folders that both hold it: ambiguous, left to per-file moves.
    if (targets.length !== 1) continue;
    taken.add(targets[0]);
    renames.push({ from, to: targets[0], files: under.length });
  }
  return renames;
}

/**
 * Whether `to` holds every file synced under `from`, with the same relative
 * name, size and mtime (within 1 ms: the table may keep mtimes truncated). A
 * row whose upload never finished has no size: its name is enough.
 */
export function holdsAll(from: string, to: string, rows: FileRow[], stat: StatOf): boolean {
  return rows.every((r) => {
    const st = stat(`${to}/${r.path.slice(from.length + 1)}`);
    if (!st) return false;
    return r.size === null || r.mtimeMs === null || (st.size === r.size && Math.abs(st.mtimeMs - r.mtimeMs) < 1);
  });
}

function fileKey(name: string, size: number, mtimeMs: number): string {
  return `${name}\0${size}\0${Math.floor(mtimeMs)}`;
}

/**
 * The highest folders whose every synced file is gone and which are gone from
 * disk themselves. A folder still on disk whose files all went (its only
 * subfolder moved away) is looked into, not skipped: its subfolders may be
 * the ones that moved. Only folders holding a gone row are asked about, each
 * by reading at most one row more than it has gone.
 */
function goneFolders(root: string, gone: readonly string[], table: KnownRows): string[] {
  const goneUnder = new Map<string, number>();
  for (const p of gone) for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) goneUnder.set(d, (goneUnder.get(d) ?? 0) + 1);
  const dirs = [...goneUnder.keys()].sort((a, b) => a.split('/').length - b.split('/').length);
  const picked = new Set<string>();
  for (const d of dirs) {
    let covered = false;
    for (let p = posix.dirname(d); p !== '.' && !covered; p = posix.dirname(p)) covered = picked.has(p);
    if (covered) continue;
    const n = goneUnder.get(d)!;
    // Every row under it gone: no more rows than gone ones.
    if (table.under(d, n + 1).length > n) continue;
    if (!existsSync(join(root, d)) || !existsExactlySync(root, d)) picked.add(d);
  }
  return [...picked];
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
function allDirs(paths: string[], pred: (p: string) => boolean): string[] {
  return [...dirVerdicts(paths, pred)].filter(([, ok]) => ok).map(([d]) => d);
}

/** Renames in flight, per state: the rescan and the workers may find the same one at once. */
const inflight = new WeakMap<State, Map<string, Promise<boolean>>>();

interface RenameDeps {
  state: State;
  client: SquidexClient;
  resolver: FolderResolver;
  logger: Logger;
  /** The daemon stopping: the request on the wire is cut, and nothing of the rename is recorded. */
  signal?: AbortSignal;
}

/**
 * Renames (and, if its parent changed, moves) the asset folder of `from` to
 * `to`, then moves every row under it in the files table. False when it
 * cannot be done safely (the folder is not known, or another folder of the
 * new name is there): the caller falls back to moving file by file. Rejects
 * with the signal's reason when it aborts: the rows still name the old folder,
 * so the next rescan finds the rename again and finishes it.
 */
export function applyFolderRename(mapping: MappingRuntime, rename: FolderRename, deps: RenameDeps): Promise<boolean> {
  let running = inflight.get(deps.state);
  if (!running) {
    running = new Map();
    inflight.set(deps.state, running);
  }
  const key = `${mapping.name}\0${rename.from}`;
  const pending = running.get(key);
  // Another caller's rename, which may not stop when this caller does.
  if (pending) return untilAborted(pending, deps.signal);
  const p = renameFolder(mapping, rename, deps).finally(() => running.delete(key));
  running.set(key, p);
  return p;
}

async function renameFolder(mapping: MappingRuntime, rename: FolderRename, deps: RenameDeps): Promise<boolean> {
  const fromRemote = joinRemote(mapping.remote, rename.from);
  const toRemote = joinRemote(mapping.remote, rename.to);
  const id = deps.state.folders.get(fromRemote);
  if (!id) return false;
  const log = deps.logger.child({ mapping: mapping.name });
  const { signal } = deps;
  try {
    const parentPath = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
    // The resolve is shared (single-flight with the workers) and takes no signal: a stop leaves it.
    const toParentId =
      parentPath(toRemote) === '' ? ROOT_FOLDER_ID : await untilAborted(deps.resolver.resolve(parentPath(toRemote)), signal);
    const newName = posix.basename(toRemote);
    // Another folder of the new name there: renaming would make two. Our own
    // folder already carrying the name is a rename done before a crash.
    const other = (await deps.client.listFolders(toParentId, { signal })).find((f) => f.folderName === newName && f.id !== id);
    if (other && !(await dropOurEmpty(other.id, deps))) return false;
    if (other) deps.resolver.invalidate(toRemote);
    if (parentPath(fromRemote) !== parentPath(toRemote)) await deps.client.moveFolder(id, toParentId, { signal });
    if (posix.basename(fromRemote) !== newName) await deps.client.renameFolder(id, newName, { signal });
  } catch (e) {
    // Stopping: not a failure, and no fallback to moving file by file. Whatever of the rename reached
    // the server, the next rescan does again (our own folder already moved or named is taken as such).
    if (signal?.aborted) throw signal.reason;
    log.warn(
      { code: (e as SyncError).code },
      'renaming asset folder %s to %s failed, moving its files one by one: %s',
      fromRemote,
      toRemote,
      describeError(e),
    );
    return false;
  }
  const moved = deps.state.files.renamePrefix(mapping.name, rename.from, rename.to);
  deps.state.folders.delete(fromRemote);
  deps.state.folders.set(toRemote, id);
  // Under folderTags the folder names are tags: its files' tags follow, with no upload.
  if (mapping.folderTags) {
    const rows = deps.state.files.listUnder(mapping.name, rename.to);
    deps.state.jobs.enqueueMany(rows.map((r) => ({ mapping: mapping.name, path: r.path, reason: 'annotate', delayMs: 0 })));
  }
  log.info(
    { from: rename.from, to: rename.to, files: moved },
    'folder renamed: %s → %s (%d files, nothing uploaded)',
    rename.from,
    rename.to,
    moved,
  );
  return true;
}

/**
 * The folder of the new name may be one a worker created a moment ago for a
 * file of the renamed folder (its events came before the folder's): when we
 * made it and it is still empty (but for empty folders we made too), it gives
 * way to the renamed one.
 */
async function dropOurEmpty(id: string, deps: RenameDeps): Promise<boolean> {
  if (!(await emptyAndOurs(id, deps, 16))) return false;
  try {
    await deps.client.deleteFolder(id, { signal: deps.signal });
  } catch (e) {
    if (!(e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE'))) throw e;
  }
  unmarkCreated(deps.state, id);
  return true;
}

async function emptyAndOurs(id: string, deps: RenameDeps, depth: number): Promise<boolean> {
  if (depth === 0 || !isCreatedByUs(deps.state, id)) return false;
  if ((await deps.client.findAssets({ parentId: id, top: 1 }, { signal: deps.signal })).length > 0) return false;
  for (const child of await deps.client.listFolders(id, { signal: deps.signal })) {
    if (!(await emptyAndOurs(child.id, deps, depth - 1))) return false;
  }
  return true;
}
