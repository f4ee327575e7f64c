import { readdir } from 'node:fs/promises';
import { SyncError } from '../lib/errors.js';
import { isReferencedError } from '../squidex/index.js';
import type { FileRow } from '../state/index.js';
import type { Outcome, ReconcileContext } from './context.js';
import { remoteDirOf, type MappingRuntime } from './mapping.js';

/** meta key under which a rescan records that a mapping's deletions are held. */
export function guardKey(mapping: string): string {
  return `deleteGuard:${mapping}`;
}

/**
 * meta key written by `confirm-deletes`: files of this mapping seen missing at
 * or before this time (ms) may be deleted (or forgotten) despite the guard.
 * Files that vanish later are guarded again; the key goes once none is left.
 */
export function confirmKey(mapping: string): string {
  return `deletesConfirmed:${mapping}`;
}

/** meta key of the page's "Keep": files missing at or before this time are forgotten, their assets kept, whatever the policy. */
export function keepKey(mapping: string): string {
  return `deletesKept:${mapping}`;
}

type Meta = { get(key: string): string | undefined };

function timeAt(meta: Meta, key: string): number {
  const v = meta.get(key);
  return v === undefined ? -1 : Number(v);
}

/** The time up to which this mapping's missing files were settled (confirmed or kept), or -1. */
export function confirmedUntil(meta: Meta, mapping: string): number {
  return Math.max(timeAt(meta, confirmKey(mapping)), timeAt(meta, keepKey(mapping)));
}

/** The time up to which this mapping's missing files are to be kept on the server, or -1. */
export function keptUntil(meta: Meta, mapping: string): number {
  return timeAt(meta, keepKey(mapping));
}

/** The guard's reason for a mapping root that is not there: never confirmable. */
export function missingRootReason(local: string): string {
  return `the folder ${local} is missing or unreadable (an unmounted share?)`;
}

/** What to do about held deletions, for every place that reports them (log, `once`, `status`). */
export function guardHint(mapping: { name: string; local: string }, reason: string): string {
  if (reason === missingRootReason(mapping.local)) {
    return `Mount the share (or put the folder back), or remove mapping "${mapping.name}" from the config; deletions of a missing folder are never confirmed.`;
  }
  return `If you meant to delete these files, run \`squidex-sync confirm-deletes ${mapping.name}\`; otherwise put them back.`;
}

/**
 * A file that was synced is no longer there. First hold it for the move
 * window (a matching add turns it into a move); then, unless the delete
 * guard holds it, delete the asset (deletes: delete) or forget the path
 * (deletes: keep).
 */
export async function handleGone(
  mapping: MappingRuntime,
  relPath: string,
  row: FileRow | undefined,
  ctx: ReconcileContext,
  /** Why the job ran: a full rescan asks again about assets kept because content uses them. */
  reason?: string | null,
): Promise<Outcome> {
  if (!row) return reason === 'referenced' ? askAgain(mapping, relPath, ctx) : { action: 'none' };
  const files = ctx.state.files;
  const now = ctx.clock.now();
  if (row.missingSince === null) {
    files.markMissing(mapping.name, relPath, now);
    return { action: 'hold', requeueAfterMs: ctx.moveWindowMs, detail: 'held for the move window' };
  }
  const waited = now - row.missingSince;
  if (waited < ctx.moveWindowMs) return { action: 'hold', requeueAfterMs: ctx.moveWindowMs - waited };

  // Confirmed with `confirm-deletes` after it was seen missing: only a missing root still holds it.
  const confirmed = row.missingSince <= confirmedUntil(ctx.state.meta, mapping.name);
  const held = (await guardReason(mapping, ctx, confirmed)) ?? (confirmed ? null : liveGuard(mapping, ctx));
  if (held) return { action: 'hold', detail: held };

  const keptByUser = row.missingSince <= keptUntil(ctx.state.meta, mapping.name);
  if (mapping.deletes === 'delete' && row.sha256 !== null && !keptByUser) {
    // Take the row first: if a move claimed it meanwhile, its asset lives on elsewhere.
    if (!files.takeForDelete(mapping.name, relPath, row.assetId)) return { action: 'none', detail: 'moved meanwhile' };
    return deleteOrKeep(mapping, relPath, row, ctx, () => files.recordSynced(row));
  }
  if (!files.forget(mapping.name, relPath, now)) return { action: 'none', detail: 'moved meanwhile' };
  return { action: 'forget' };
}

/**
 * Deletes the asset of a gone file, asking Squidex to check referrers. An
 * asset that content still uses is refused: it stays, the path is listed as
 * kept with its asset id (nothing is forgotten), and the next full rescan
 * asks again; a file put back re-adopts it. `undo` puts the row back when
 * the delete must be tried again.
 */
async function deleteOrKeep(mapping: MappingRuntime, relPath: string, row: Pick<FileRow, 'assetId' | 'parentId' | 'missingSince'>, ctx: ReconcileContext, undo: () => void): Promise<Outcome> {
  try {
    await ctx.client.deleteAsset(row.assetId, { permanent: mapping.permanentDeletes });
  } catch (e) {
    if (isReferencedError(e)) {
      const first = ctx.state.kept.get(mapping.name, relPath)?.reason !== 'referenced';
      ctx.state.kept.put({ mapping: mapping.name, path: relPath, assetId: row.assetId, goneSince: row.missingSince ?? ctx.clock.now() }, 'referenced');
      const detail = `kept asset ${row.assetId} of ${relPath}: Squidex refused to delete it, content still uses it (asked again at the next full rescan)`;
      // Said once; the rescans that ask again say nothing new.
      return { action: 'referenced', detail, warn: first };
    }
    // Already gone on the server is the outcome we wanted. Any other
    // failure puts the row back, so the delete is tried again.
    if (!(e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE'))) {
      undo();
      throw e;
    }
  }
  ctx.state.annotations.remove(row.assetId);
  // The folder listing used for adoption still shows this asset: a file put back must be uploaded, not "adopted" from the recycle bin.
  if (row.parentId) ctx.adoption.forget(row.parentId);
  return { action: 'delete' };
}

/**
 * A path kept because content used its asset, looked at again by a full
 * rescan: still gone, so delete it now if nothing uses it any more (and the
 * mapping still deletes; otherwise it is an ordinary kept path).
 */
async function askAgain(mapping: MappingRuntime, relPath: string, ctx: ReconcileContext): Promise<Outcome> {
  const kept = ctx.state.kept.get(mapping.name, relPath);
  if (kept?.reason !== 'referenced') return { action: 'none' };
  if (mapping.deletes !== 'delete') {
    ctx.state.kept.setReason(mapping.name, relPath, null);
    return { action: 'forget', detail: 'kept on the server (deletes: keep)' };
  }
  // Its deletion passed the guard when it was first asked for: only a missing root holds it now.
  const held = await guardReason(mapping, ctx, true);
  if (held) return { action: 'hold', detail: held };
  const parentId = ctx.state.folders.get(remoteDirOf(mapping, relPath)) ?? null;
  const outcome = await deleteOrKeep(mapping, relPath, { assetId: kept.assetId, parentId, missingSince: kept.goneSince }, ctx, () => undefined);
  if (outcome.action === 'delete') ctx.state.kept.remove(mapping.name, relPath);
  return outcome;
}

/**
 * The share test of the delete guard on live counts: deletions the watcher
 * reports between rescans (a stray `rm *`) are held just like a rescan's.
 */
function liveGuard(mapping: MappingRuntime, ctx: ReconcileContext): string | null {
  const g = ctx.guard;
  if (!g?.enabled || ctx.allowMassDelete) return null;
  const files = ctx.state.files;
  const missing = files.countMissing(mapping.name, confirmedUntil(ctx.state.meta, mapping.name));
  const total = files.count(mapping.name);
  if (missing < g.minFiles || total === 0 || missing / total <= g.maxShare) return null;
  const reason = `${missing} of ${total} files (${Math.round((100 * missing) / total)}%) vanished at once, more than the deleteGuard limit of ${Math.round(g.maxShare * 100)}%`;
  if (ctx.state.meta.get(guardKey(mapping.name)) !== reason) {
    ctx.logger.warn(
      { mapping: mapping.name, gone: missing, files: total },
      'deletions held: %s. Nothing will be deleted or forgotten on the server. %s',
      reason,
      guardHint(mapping, reason),
    );
    ctx.state.meta.set(guardKey(mapping.name), reason);
  }
  return reason;
}

/**
 * Why deletions of this mapping must not propagate now, or null. The mapping
 * root missing, unreadable or empty looks exactly like "everything was
 * deleted" and is almost always an unmounted share.
 */
export async function guardReason(mapping: MappingRuntime, ctx: ReconcileContext, confirmed = false): Promise<string | null> {
  let entries: string[];
  try {
    entries = await readdir(mapping.local);
  } catch {
    // Never confirmable: a user who means "delete everything" keeps the (empty) folder.
    return missingRootReason(mapping.local);
  }
  if (ctx.allowMassDelete || confirmed) return null;
  const flagged = ctx.state.meta.get(guardKey(mapping.name));
  if (flagged) return flagged;
  if (entries.length === 0) return `the folder ${mapping.local} is empty (an unmounted share?)`;
  return null;
}
