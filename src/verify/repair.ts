import { posix } from 'node:path';
import { untilAborted } from '../lib/abort.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { AssetDto } from '../squidex/index.js';
import { immediate, type ReconcileContext } from '../worker/context.js';
import { remoteDirOf, type MappingRuntime } from '../worker/mapping.js';
import { stamp } from '../worker/annotate.js';
import type { Difference } from './compare.js';
import type { FolderTree } from './listing.js';

export interface RepairResult {
  /** Moved and renamed back on the spot. */
  fixed: Difference[];
  /**
   * Queued for the worker: re-uploaded under the same id, or their content
   * replaced, by the same path every upload takes; and local changes not yet synced.
   */
  queued: Difference[];
  /** Unknown assets: never deleted. */
  left: Difference[];
  failed: Array<{ difference: Difference; error: string }>;
}

/** Errors that say nothing about one asset: the whole repair stops (exit 3, or the daemon's next try). */
const GLOBAL = new Set(['AUTH_FAILED', 'FORBIDDEN', 'TLS', 'APP_NOT_FOUND']);

/**
 * Puts the server back to what the share says. A move or a rename is undone
 * at once; an asset deleted in Squidex, or whose content someone replaced, has
 * its row's hash cleared and its path queued, so the worker upserts the file
 * under the same id into its folder (re-creating a deleted asset, replacing the
 * content, moving it back) and stamps its name: the file is read and sent only
 * by the worker's upload path. Unknown assets are left alone.
 *
 * `signal` (the daemon stopping) cuts the request on the wire: what was not put
 * back is not recorded, and the next verify finds it again.
 */
export async function repairDifferences(
  differences: readonly Difference[],
  server: { tree: FolderTree; assets: ReadonlyMap<string, AssetDto> },
  ctx: ReconcileContext,
  signal?: AbortSignal,
): Promise<RepairResult> {
  const result: RepairResult = { fixed: [], queued: [], left: [], failed: [] };
  forgetStaleFolders(differences, server.tree, ctx);
  const byPath = new Map<string, Difference[]>();
  for (const d of differences) {
    if (d.kind === 'unknown') result.left.push(d);
    else if (d.kind === 'unreadable') result.failed.push({ difference: d, error: d.detail });
    else {
      const key = `${d.mapping}\0${d.path}`;
      byPath.set(key, [...(byPath.get(key) ?? []), d]);
    }
  }
  const jobs: Array<{ mapping: string; path: string; reason: string; delayMs: number }> = [];
  try {
    await repairGroups(byPath.values(), server, ctx, jobs, result, signal);
  } finally {
    // Queued even when a request below threw (the daemon stopping, Squidex refusing):
    // a row whose hash was cleared for a re-upload must not be left without its job.
    if (jobs.length > 0) ctx.state.jobs.enqueueMany(jobs);
  }
  return result;
}

async function repairGroups(
  groups: Iterable<Difference[]>,
  server: { assets: ReadonlyMap<string, AssetDto> },
  ctx: ReconcileContext,
  jobs: Array<{ mapping: string; path: string; reason: string; delayMs: number }>,
  result: RepairResult,
  signal: AbortSignal | undefined,
): Promise<void> {
  const files = ctx.state.files;
  for (const group of groups) {
    const { mapping: name, path } = group[0];
    const mapping = ctx.mappings.get(name);
    const kinds = new Set(group.map((d) => d.kind));
    const row = files.get(name, path);
    if (!mapping) continue;
    if (kinds.has('missing') || kinds.has('content')) {
      // The upsert under the row's id re-creates, replaces and moves in one request.
      if (row?.sha256) files.recordSynced({ ...row, sha256: null });
      jobs.push({ mapping: name, path, reason: 'repair', delayMs: 0 });
      result.queued.push(...group);
      continue;
    }
    if (kinds.has('unsynced')) {
      jobs.push({ mapping: name, path, reason: 'repair', delayMs: 0 });
      result.queued.push(...group.filter((d) => d.kind === 'unsynced'));
    }
    const misplaced = group.filter((d) => d.kind === 'moved' || d.kind === 'renamed');
    if (misplaced.length === 0 || !row?.sha256) continue;
    try {
      await putBack(mapping, path, row.sha256, server.assets.get(row.assetId), kinds, ctx, signal);
      result.fixed.push(...misplaced);
    } catch (e) {
      if (signal?.aborted || (e instanceof SyncError && (GLOBAL.has(e.code) || e.retry !== 'never'))) throw e;
      for (const d of misplaced) result.failed.push({ difference: d, error: describeError(e) });
    }
  }
}

async function putBack(
  mapping: MappingRuntime,
  path: string,
  sha256: string,
  seen: AssetDto | undefined,
  kinds: ReadonlySet<Difference['kind']>,
  ctx: ReconcileContext,
  signal: AbortSignal | undefined,
): Promise<void> {
  const row = ctx.state.files.get(mapping.name, path)!;
  let asset = seen ?? (await ctx.client.getAsset(row.assetId, { signal }));
  if (!asset) throw new SyncError('GONE', `${path}: its asset ${row.assetId} was deleted meanwhile; the next verify re-uploads it.`);
  if (kinds.has('moved')) {
    // The resolve is shared (single-flight with the workers) and takes no signal: a stop leaves it.
    const parentId = await untilAborted(ctx.resolver.resolve(remoteDirOf(mapping, path)), signal);
    asset = await ctx.client.moveAsset(asset.id, parentId, { signal });
  }
  // stamp() renames (with a detour for a case-only rename) and keeps the asset's other metadata.
  if (asset.fileName !== posix.basename(path)) asset = await stamp(asset, { mapping, relPath: path, sha256, signal }, immediate(ctx));
  ctx.state.files.recordSynced({ ...row, parentId: asset.parentId, version: asset.version, syncedAt: ctx.clock.now() });
}

/**
 * A cached folder id that now sits at another path (an editor renamed or moved
 * the folder) or is gone: forget it, so moves back and re-uploads land in the
 * folder the path names, created when missing.
 */
function forgetStaleFolders(differences: readonly Difference[], tree: FolderTree, ctx: ReconcileContext): void {
  const prefixes = new Set<string>();
  for (const d of differences) {
    const m = ctx.mappings.get(d.mapping);
    if (m && d.kind !== 'unknown') prefixes.add(m.remote);
  }
  if (prefixes.size === 0) return;
  for (const [path, id] of ctx.state.folders.entries()) {
    const under = [...prefixes].some((p) => p === '' || path === p || path.startsWith(`${p}/`));
    if (under && tree.pathOf(id) !== path) ctx.resolver.invalidate(path);
  }
}
