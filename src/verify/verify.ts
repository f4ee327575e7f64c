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
  const tree = await FolderTree.read(client, deps.signal);
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
    // Read after the listing: an upload that finished meanwhile is known, not someone else's.
    const known = store.knownAssetIds();
    const server = { tree, rootId, assets, listed: listed.keys(), cachedFolder };
    const differences = await confirmed(m, compareServer(m, rows, server, { known, store }), server, deps, all);
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

/**
 * A listing takes a while, and the daemon may have uploaded, moved or renamed
 * one of these files since its page was read: each difference is looked at once
 * more, with the row as it is now and the asset fetched again by id. Only what
 * still differs counts (and unknown assets, which the listing alone can show).
 */
async function confirmed(
  m: MappingRuntime,
  found: Difference[],
  server: Parameters<typeof compareServer>[2],
  deps: VerifyDeps,
  /** Gets the assets as fetched again, for repair. */
  all: Map<string, AssetDto>,
): Promise<Difference[]> {
  const suspects = found.filter((d) => d.kind !== 'unknown');
  if (suspects.length === 0) return found;
  const rows = [...new Set(suspects.map((d) => d.path))].map((p) => deps.state.files.get(m.name, p)).filter((r) => r !== undefined);
  const fresh = await assetsById(
    deps.client,
    rows.map((r) => r.assetId),
    deps,
  );
  for (const [id, a] of fresh) all.set(id, a);
  const again = compareServer(m, rows, { ...server, assets: fresh, listed: [] }, { known: new Set(), store: verifyStore(deps.state.db) });
  return [...again, ...found.filter((d) => d.kind === 'unknown')];
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
