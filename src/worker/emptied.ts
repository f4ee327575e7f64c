import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { SquidexClient } from '../squidex/index.js';
import type { State } from '../state/index.js';
import { withoutFsync } from '../state/relaxed.js';
import type { MappingRuntime } from './mapping.js';

/**
 * Asset folders squidex-sync created are remembered (a meta key per id), so
 * that under `deletes: keep` one that moves emptied is removed, and nothing
 * an editor made ever is. A mark lost in a power cut only leaves an empty
 * folder behind.
 */
function createdKey(id: string): string {
  return `createdFolder:${id}`;
}

export function markCreated(state: Pick<State, 'db' | 'meta'>, id: string): void {
  withoutFsync(state.db, () => state.meta.set(createdKey(id), '1'));
}

export function isCreatedByUs(state: Pick<State, 'meta'>, id: string): boolean {
  return state.meta.get(createdKey(id)) !== undefined;
}

export function unmarkCreated(state: Pick<State, 'db' | 'meta'>, id: string): void {
  withoutFsync(state.db, () => state.meta.delete(createdKey(id)));
}

/**
 * Asset folders of local folders that no longer exist are removed once
 * nothing is left in them: under `deletes: delete` every one we know; under
 * `deletes: keep` only those we created, and only when everything they ever
 * held moved out (a folder still holding a kept asset, or anything else, is
 * never ours to remove, and is not looked at again). Only folders in our
 * cache, under the mapping's remote folder, never the mapping root.
 */
export async function removeEmptyFolders(
  mapping: MappingRuntime,
  deps: {
    state: State;
    client: SquidexClient;
    logger: Logger;
    cached: Array<[string, string]>;
    /** A stop: the request on the wire is cut and no further folder is looked at (the next cleanup does them). */
    signal?: AbortSignal;
  },
): Promise<number> {
  const { signal } = deps;
  const base = mapping.remote;
  const keep = mapping.deletes !== 'delete';
  let removed = 0;
  // Deepest first, so a parent emptied by removing its child goes too.
  const candidates = deps.cached
    .filter(([p, id]) => (base === '' ? p !== '' : p.startsWith(`${base}/`)) && (!keep || isCreatedByUs(deps.state, id)))
    .sort(([a], [b]) => b.split('/').length - a.split('/').length);
  for (const [remotePath, id] of candidates) {
    signal?.throwIfAborted();
    const localDir = base === '' ? remotePath : remotePath.slice(base.length + 1);
    if (existsSync(join(mapping.local, localDir))) continue;
    // A file of ours still recorded in it is on its way out (a move not yet run): look again later.
    if (keep && deps.state.files.listUnder(mapping.name, localDir, 1).length > 0) continue;
    try {
      const busy =
        (await deps.client.listFolders(id, { signal })).length > 0 ||
        (await deps.client.findAssets({ parentId: id, top: 1 }, { signal })).length > 0;
      if (busy) {
        if (keep && !(await holdsOnlyOurFolders(id, deps))) unmarkCreated(deps.state, id);
        continue;
      }
      await deps.client.deleteFolder(id, { signal });
      removed += 1;
    } catch (e) {
      if (!(e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE'))) throw e;
    }
    if (keep) unmarkCreated(deps.state, id);
    deps.state.folders.delete(remotePath);
  }
  if (removed > 0) {
    deps.logger.info(
      { mapping: mapping.name, removed },
      'removed %d empty asset folders (%s)',
      removed,
      keep ? 'created by squidex-sync and emptied by moves' : 'deletes: delete',
    );
  }
  return removed;
}

/** Only subfolders we created, and no asset: it may still empty out (its children go first). */
async function holdsOnlyOurFolders(id: string, deps: { state: State; client: SquidexClient; signal?: AbortSignal }): Promise<boolean> {
  const { signal } = deps;
  if ((await deps.client.findAssets({ parentId: id, top: 1 }, { signal })).length > 0) return false;
  return (await deps.client.listFolders(id, { signal })).every((f) => isCreatedByUs(deps.state, f.id));
}
