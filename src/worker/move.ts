import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { SyncError } from '../lib/errors.js';
import type { AssetDto } from '../squidex/index.js';
import type { FileRow } from '../state/index.js';
import type { Outcome, ReconcileContext } from './context.js';
import type { FileDigest } from './hash.js';
import type { MappingRuntime } from './mapping.js';
import { record } from './reconcile.js';
import { planFor, stamp } from './annotate.js';
import { existsExactly } from './exact.js';

/**
 * A path the files table does not know, whose content equals a known file
 * that is no longer on disk, is that file moved or renamed. Only a vanished
 * source qualifies: two live copies of the same bytes stay two assets.
 */
export async function findMoveSource(
  mapping: MappingRuntime,
  relPath: string,
  digest: FileDigest,
  ctx: ReconcileContext,
): Promise<FileRow | null> {
  for (const row of byLikeness(relPath, ctx.state.files.findBySha(mapping.name, digest.sha256, digest.size))) {
    if (row.path === relPath) continue;
    if ((await isFile(join(mapping.local, row.path))) && (await existsExactly(mapping.local, row.path))) continue;
    return row;
  }
  return null;
}

export async function applyMove(
  mapping: MappingRuntime,
  from: FileRow,
  toPath: string,
  parentId: string,
  st: Stats,
  ctx: ReconcileContext,
): Promise<Outcome> {
  // Claim the source row first, in one statement: when two new copies race
  // for one vanished file, one moves it and the other uploads a new asset.
  // The claimed row loses its hash, so a crash before the server calls end
  // re-runs this path as an upsert of the same id (moved, content re-sent).
  if (!ctx.state.files.claimForMove(mapping.name, from.path, toPath)) return { action: 'none', requeueAfterMs: 0 };
  const sha256 = from.sha256!;
  let asset: AssetDto | null;
  try {
    asset = from.parentId !== parentId ? await ctx.client.moveAsset(from.assetId, parentId) : await ctx.client.getAsset(from.assetId);
  } catch (e) {
    // Deleted on the server meanwhile: the claimed row (hash cleared) uploads afresh under the same id.
    if (e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE')) asset = null;
    else throw e;
  }
  if (!asset) {
    // Deleted on the server meanwhile: upload afresh under the same id.
    return { action: 'none', requeueAfterMs: 0, detail: 'moved asset no longer on the server' };
  }
  // Same content: what the file said is what was stored; its folder (folderTags) and sidecar may differ.
  asset = await stamp(asset, mapping, toPath, sha256, ctx, await planFor(mapping, toPath, asset.id, ctx, { fresh: false }));
  record(mapping, toPath, asset, sha256, st, ctx);
  return { action: 'move', detail: `from ${from.path}` };
}

/**
 * Several vanished files with these bytes: the one with the same name, then
 * one from the same folder, is the likeliest source. A copy renamed in its
 * own folder must not take the file of a folder moved at the same moment.
 */
export function byLikeness<T extends { path: string }>(relPath: string, rows: T[]): T[] {
  const name = posix.basename(relPath);
  const dir = posix.dirname(relPath);
  const rank = (p: string): number => (posix.basename(p) === name ? 0 : posix.dirname(p) === dir ? 1 : 2);
  return rows.map((r, i) => ({ r, i, k: rank(r.path) })).sort((a, b) => a.k - b.k || a.i - b.i).map((x) => x.r);
}

async function isFile(abs: string): Promise<boolean> {
  try {
    return (await lstat(abs)).isFile();
  } catch {
    return false;
  }
}

export function baseName(p: string): string {
  return posix.basename(p);
}
