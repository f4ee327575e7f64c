import type { AssetDto } from '../squidex/index.js';
import type { State } from '../state/index.js';
import type { WalkResult } from '../watch/walk.js';
import { META_SHA, type MappingRuntime } from '../worker/mapping.js';
import { compareDisk, compareServer, type Difference } from './compare.js';
import { assetsById, FolderTree, listAssets, type ListingApi, type ListOptions } from './listing.js';
import { verifyStore } from './store.js';

export interface VerifyDeps extends ListOptions {
  state: State;
  client: ListingApi;
  /**
   * Record what the server shows of assets synced before content versions were
   * kept (only a process holding the state lock may write).
   */
  learn?: boolean;
}

export interface MappingVerdict {
  mapping: string;
  /** Paths the state says are on the server, compared with it. */
  compared: number;
  differences: Difference[];
}

export interface VerifyResult {
  tree: FolderTree;
  mappings: MappingVerdict[];
  /** Every asset seen, by id: what repair starts from. */
  assets: Map<string, AssetDto>;
}

/**
 * Compares, per mapping, the state database with a listing of the mapped asset
 * folders (and, when `disk` holds a walk of the mapping, the files on disk with
 * the state). Asks the server one request for the folder tree, then per folder
 * one per 200 assets; by id only for assets that were not where expected.
 * Changes nothing on the server.
 */
export async function verifyMappings(
  mappings: readonly MappingRuntime[],
  deps: VerifyDeps,
  disk?: ReadonlyMap<string, WalkResult>,
): Promise<VerifyResult> {
  const { state, client } = deps;
  const store = verifyStore(state.db);
  await deps.pace?.();
  const tree = await FolderTree.read(client);
  const known = store.knownAssetIds();
  const all = new Map<string, AssetDto>();
  const verdicts: MappingVerdict[] = [];
  for (const m of mappings) {
    const rows = state.files.list(m.name);
    const cachedFolder = (path: string): string | undefined => state.folders.get(path);
    const rootId = tree.idAt(m.remote, cachedFolder(m.remote));
    const listed = await listAssets(client, rootId === undefined ? [] : tree.subtree(rootId), deps);
    const assets = new Map(listed);
    const elsewhere = rows.filter((r) => r.sha256 !== null && r.missingSince === null && !listed.has(r.assetId)).map((r) => r.assetId);
    for (const [id, a] of await assetsById(client, elsewhere, deps)) assets.set(id, a);
    for (const [id, a] of assets) all.set(id, a);

    const differences = compareServer(m, rows, { tree, rootId, assets, listed: listed.keys(), cachedFolder }, known, store);
    const walk = disk?.get(m.name);
    if (walk) differences.push(...compareDisk(m, rows, walk));
    // Unknown assets last: their paths are the server's, not the share's.
    const rank = (d: Difference): string => `${d.kind === 'unknown' ? 1 : 0}\0${d.path}\0${d.kind}`;
    differences.sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
    if (deps.learn) learnVersions(rows, assets, differences, store);
    verdicts.push({ mapping: m.name, compared: rows.filter((r) => r.sha256 !== null && r.missingSince === null).length, differences });
  }
  if (deps.learn) store.pruneFileVersions();
  return { tree, mappings: verdicts, assets: all };
}

/** Assets synced before content versions were kept, seen with our stamp: their version is the one we wrote. */
function learnVersions(
  rows: ReturnType<State['files']['list']>,
  assets: ReadonlyMap<string, AssetDto>,
  differences: readonly Difference[],
  store: ReturnType<typeof verifyStore>,
): void {
  const changed = new Set(differences.filter((d) => d.kind === 'content').map((d) => d.assetId));
  for (const r of rows) {
    const a = assets.get(r.assetId);
    if (!a || changed.has(a.id) || r.sha256 === null || typeof a.fileVersion !== 'number') continue;
    if (store.fileVersion(a.id) === undefined && a.metadata?.[META_SHA] === r.sha256) store.learnFileVersion(a.id, a.fileVersion);
  }
}
