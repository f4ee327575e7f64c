import { posix } from 'node:path';
import type { AssetDto } from '../squidex/index.js';
import type { FileRow } from '../state/index.js';
import type { WalkResult } from '../watch/walk.js';
import { remoteDirOf, type MappingRuntime } from '../worker/mapping.js';
import { contentChange } from './content.js';
import type { FolderTree } from './listing.js';
import type { DriftKind, VerifyStore } from './store.js';
import { isSidecar } from '../worker/sidecar.js';

/**
 * One way the server, the state database or the disk disagree. `unsynced`
 * is the disk against the state (a change the daemon has not uploaded yet);
 * every other kind is the server against the state.
 */
export interface Difference {
  /** `unreadable`: a mapping root or folder that could not be read, so it was not compared. */
  kind: DriftKind | 'unsynced' | 'unreadable';
  mapping: string;
  /** The local path; for an unknown asset, its folder path and name on the server. */
  path: string;
  assetId: string | null;
  detail: string;
}

export interface ServerSide {
  tree: FolderTree;
  /** The mapping's root folder on the server, undefined when it does not exist. */
  rootId: string | undefined;
  /** Assets found in the mapping's folders, and by id those that were not there. */
  assets: ReadonlyMap<string, AssetDto>;
  /** Ids listed in the mapping's folders (what may be unknown). */
  listed: Iterable<string>;
  /** Folder path → id in our cache, preferred where several folders share a name. */
  cachedFolder(path: string): string | undefined;
}

/**
 * The server against the state: every path the state says is on the server
 * (synced, not seen gone) must have its asset, in its folder, under its name,
 * with the content we last wrote. `known` holds every asset id we stand for
 * (all mappings, kept assets, uploads under way); listed assets outside it
 * are unknown.
 */
export function compareServer(
  mapping: MappingRuntime,
  rows: readonly FileRow[],
  server: ServerSide,
  ours: { known: ReadonlySet<string>; store: Pick<VerifyStore, 'fileVersion' | 'pendingStampSha'> },
): Difference[] {
  const { known, store } = ours;
  const out: Difference[] = [];
  const add = (kind: Difference['kind'], path: string, assetId: string, detail: string): void =>
    void out.push({ kind, mapping: mapping.name, path, assetId, detail });
  const { tree } = server;
  for (const r of rows) {
    if (r.sha256 === null || r.missingSince !== null) continue;
    const asset = server.assets.get(r.assetId);
    if (!asset) {
      add('missing', r.path, r.assetId, 'deleted in Squidex');
      continue;
    }
    const dir = remoteDirOf(mapping, r.path);
    const expected = tree.idAt(dir, server.cachedFolder(dir));
    if (asset.parentId !== expected) {
      const where = tree.pathOf(asset.parentId);
      const inside = server.rootId !== undefined && tree.within(asset.parentId, server.rootId);
      const place =
        where === undefined ? `a folder squidex-sync cannot see (${asset.parentId})` : where === '' ? 'the app root' : `folder "${where}"`;
      const gone = expected === undefined ? ` (folder "${dir}" no longer exists in Squidex)` : '';
      add('moved', r.path, r.assetId, `moved to ${place}${inside ? '' : ', outside the mapping'}${gone}`);
    }
    if (asset.fileName !== posix.basename(r.path)) add('renamed', r.path, r.assetId, `renamed to "${asset.fileName}" in Squidex`);
    const changed = contentChange(asset, r.sha256, store);
    if (changed) add('content', r.path, r.assetId, changed);
  }
  for (const id of server.listed) {
    if (known.has(id)) continue;
    const a = server.assets.get(id);
    if (!a) continue;
    const dir = tree.pathOf(a.parentId) ?? a.parentId;
    add('unknown', dir ? `${dir}/${a.fileName}` : a.fileName, id, 'in a mapped folder, not from the share; never deleted');
  }
  return out;
}

/** The disk against the state: what the daemon has still to upload, move or delete. */
export function compareDisk(mapping: MappingRuntime, rows: readonly FileRow[], walk: WalkResult): Difference[] {
  const out: Difference[] = [];
  const add = (path: string, assetId: string | null, detail: string, kind: Difference['kind'] = 'unsynced'): void =>
    void out.push({ kind, mapping: mapping.name, path, assetId, detail });
  if (walk.rootMissing) {
    add(
      '',
      null,
      `the folder ${mapping.local} is missing or unreadable (an unmounted share?); only the server side was compared`,
      'unreadable',
    );
    return out;
  }
  for (const e of walk.errors) add(e.path, null, `cannot read: ${e.message}`, 'unreadable');
  const seen = new Set<string>();
  for (const r of rows) {
    seen.add(r.path);
    const f = walk.entries.get(r.path);
    if (r.missingSince !== null)
      add(r.path, r.assetId, f ? 'back on the share, not synced yet' : 'gone from the share; its deletion is held');
    else if (!f) add(r.path, r.assetId, 'gone from the share, not synced yet');
    else if (r.sha256 === null) add(r.path, r.assetId, 'its upload has not finished');
    else if (f.size !== r.size || f.mtimeMs !== r.mtimeMs) add(r.path, r.assetId, 'changed on the share since its upload');
  }
  // Sidecars are metadata of their files, never uploaded themselves (embeddedMetadata).
  for (const path of walk.entries.keys()) if (!seen.has(path) && !isSidecar(mapping, path)) add(path, null, 'not uploaded yet');
  return out;
}
