import { readdir } from 'node:fs/promises';
import type { FileRow, Job } from '../state/index.js';
import type { Outcome, ReconcileContext } from './context.js';
import { remoteDirOf, type MappingRuntime } from './mapping.js';
import { decide, undecided, type GoneObservation } from './decide.js';
import { deleteOrKeep } from './effects.js';
import { confirmedUntil, deleteGuardVerdict, guardHint, guardKey, keptUntil, missingRootReason } from './deleteguard.js';

/**
 * How long a file missed before the start rescan waits before it is looked at
 * again, at most: the rescan queues each file it finds still gone when it ends.
 */
const LOOK_WAIT_MS = 30_000;

/**
 * A file that was synced is no longer there. First hold it for the move
 * window (a matching add turns it into a move; for a file missed before the
 * start rescan, the window runs from that rescan); then, unless the delete
 * guard holds it, delete the asset (deletes: delete) or forget the path
 * (deletes: keep).
 */
export async function handleGone(
  mapping: MappingRuntime,
  /** The path, or the job: its reason 'referenced' (a full rescan) asks again about an asset kept because content used it. */
  job: string | Pick<Job, 'path' | 'reason'>,
  row: FileRow | undefined,
  ctx: ReconcileContext,
  /** The job aborted at a stop: the delete on the wire is cut, and the row is put back. */
  signal?: AbortSignal,
): Promise<Outcome> {
  const relPath = typeof job === 'string' ? job : job.path;
  if (!row) return typeof job !== 'string' && job.reason === 'referenced' ? askAgain(mapping, relPath, ctx, signal) : { action: 'none' };
  const files = ctx.state.files;
  const now = ctx.clock.now();
  const looked = ctx.firstLook?.(mapping.name);
  // Missed before this run looked at the mapping: only that look can tell a move made while stopped.
  if (looked === null && row.missingSince !== null)
    return { action: 'hold', requeueAfterMs: Math.max(ctx.moveWindowMs, LOOK_WAIT_MS), detail: 'waits for the start rescan' };
  const since = row.missingSince === null ? null : Math.max(row.missingSince, looked ?? row.missingSince);
  const seen: GoneObservation = {
    kind: 'gone',
    row,
    waitedMs: since === null ? 0 : now - since,
    moveWindowMs: ctx.moveWindowMs,
    deletes: mapping.deletes,
    keptByUser: row.missingSince !== null && row.missingSince <= keptUntil(ctx.state.meta, mapping.name),
  };
  let d = decide(seen);
  if ('need' in d) {
    // Confirmed with `confirm-deletes` after it was seen missing: only a missing root still holds it.
    const confirmed = row.missingSince! <= confirmedUntil(ctx.state.meta, mapping.name);
    seen.held = (await guardReason(mapping, ctx, confirmed)) ?? (confirmed ? null : liveGuard(mapping, ctx));
    d = decide(seen);
  }
  if ('need' in d) throw undecided(d);
  switch (d.action) {
    case 'mark-missing':
      files.markMissing(mapping.name, relPath, now);
      return { action: 'hold', requeueAfterMs: ctx.moveWindowMs, detail: 'held for the move window' };
    case 'hold':
      return { action: 'hold', requeueAfterMs: d.requeueAfterMs, detail: d.detail };
    case 'delete':
      // Take the row first: if a move claimed it meanwhile, its asset lives on elsewhere.
      if (!files.takeForDelete(mapping.name, relPath, row.assetId)) return { action: 'none', detail: 'moved meanwhile' };
      return deleteOrKeep({ mapping, relPath, row, undo: () => files.recordSynced(row), signal }, ctx);
    case 'forget':
      if (!files.forget(mapping.name, relPath, now)) return { action: 'none', detail: 'moved meanwhile' };
      return { action: 'forget' };
    default:
      throw undecided(d);
  }
}

/**
 * A path kept because content used its asset, looked at again by a full
 * rescan: still gone, so delete it now if nothing uses it any more (and the
 * mapping still deletes; otherwise it is an ordinary kept path).
 */
async function askAgain(mapping: MappingRuntime, relPath: string, ctx: ReconcileContext, signal?: AbortSignal): Promise<Outcome> {
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
  const outcome = await deleteOrKeep(
    { mapping, relPath, row: { assetId: kept.assetId, parentId, missingSince: kept.goneSince }, undo: () => undefined, signal },
    ctx,
  );
  if (outcome.action === 'delete') ctx.state.kept.remove(mapping.name, relPath);
  return outcome;
}

/**
 * The share test of the delete guard on live counts: deletions the watcher
 * reports between rescans (a stray `rm *`) are held just like a rescan's.
 */
function liveGuard(mapping: MappingRuntime, ctx: ReconcileContext): string | null {
  const files = ctx.state.files;
  const counts = { gone: files.countMissing(mapping.name, confirmedUntil(ctx.state.meta, mapping.name)), known: files.count(mapping.name) };
  const reason = deleteGuardVerdict(mapping.local, counts, ctx.guard, ctx.allowMassDelete);
  if (reason === null) return null;
  if (ctx.state.meta.get(guardKey(mapping.name)) !== reason) {
    ctx.logger.warn(
      { mapping: mapping.name, gone: counts.gone, files: counts.known },
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
