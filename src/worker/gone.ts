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
 * start rescan, the window runs from that rescan), then until the mapping's
 * deletions settled (settleWait); then, unless the delete guard holds it,
 * delete the asset (deletes: delete) or forget the path (deletes: keep).
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
  // Confirmed with `confirm-deletes` after it was seen missing: only a missing root still holds it.
  const confirmed = row.missingSince !== null && row.missingSince <= confirmedUntil(ctx.state.meta, mapping.name);
  let d = decide(seen);
  if ('need' in d && d.need === 'guard') {
    const base = await guardReason(mapping, ctx, confirmed);
    // A verdict recorded while a deletion's files were still being marked names too few: the live count replaces it.
    seen.held = confirmed || base === missingRootReason(mapping.local) ? base : (liveGuard(mapping, ctx) ?? base);
    d = decide(seen);
  }
  if ('need' in d && d.need === 'settle') {
    seen.settleMs = confirmed ? 0 : settleWait(mapping, since!, ctx);
    d = decide(seen);
  }
  if ('need' in d) throw undecided(d);
  if ((d.action === 'delete' || d.action === 'forget') && ctx.movedTo) {
    // Moved while nothing watched, and no rescan to pair it: the move window, timed from the first miss, proves nothing.
    const to = await ctx.movedTo(mapping.name, row);
    if (to !== null)
      return { action: 'hold', detail: `its content is now at "${to}" (moved while stopped): its asset moves there, never deleted` };
  }
  switch (d.action) {
    case 'mark-missing':
      files.markMissing(mapping.name, relPath, now);
      missed(ctx, mapping.name, now);
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

/** A trickle that never pauses is weighed in parts: a file waits at most this many settle periods. */
const TRICKLE_SETTLES = 10;

/** How long a known-files count read for the settle check is used again. */
const KNOWN_FRESH_MS = 1000;

interface MappingMisses {
  /** The latest time a file of the mapping was first seen gone, or null. */
  latest: number | null;
  /** The mapping's known files, as last counted. */
  known?: { n: number; at: number };
}

/** Per state database and mapping, as this process last saw them. */
const seenMisses = new WeakMap<object, Map<string, MappingMisses>>();

function missesOf(ctx: ReconcileContext, mapping: string): MappingMisses {
  const byMapping = seenMisses.get(ctx.state) ?? new Map<string, MappingMisses>();
  seenMisses.set(ctx.state, byMapping);
  // Read once: only this process (the lock holder) marks files missing from then on.
  const m = byMapping.get(mapping) ?? { latest: ctx.state.files.newestMissing(mapping) };
  byMapping.set(mapping, m);
  return m;
}

function missed(ctx: ReconcileContext, mapping: string, at: number): void {
  const m = missesOf(ctx, mapping);
  m.latest = Math.max(m.latest ?? at, at);
}

/**
 * How much longer a missing file waits so that every file of its deletion is
 * weighed by the guard at once (0: go ahead). The events of one `rm -rf` can
 * straggle (a slow share, a client deleting file by file): judged as they come,
 * each part can be under the guard's share. So a delete waits until the mapping
 * has seen no new miss for deleteGuard.settleMs; a trickle that never pauses is
 * weighed in parts, a file going ahead (if the guard passes) once it has waited
 * TRICKLE_SETTLES of those periods. A mapping too small for the guard waits for nothing.
 */
function settleWait(mapping: MappingRuntime, since: number, ctx: ReconcileContext): number {
  const g = ctx.guard;
  if (!g?.enabled || ctx.allowMassDelete || g.settleMs <= 0) return 0;
  const m = missesOf(ctx, mapping.name);
  // Every file still missing was confirmed or kept by the user: nothing left to weigh.
  if (m.latest === null || m.latest <= confirmedUntil(ctx.state.meta, mapping.name)) return 0;
  const now = ctx.clock.now();
  const quiet = now - m.latest;
  const capLeft = TRICKLE_SETTLES * g.settleMs - (now - since);
  if (quiet >= g.settleMs || capLeft <= 0) return 0;
  if (!m.known || now - m.known.at > KNOWN_FRESH_MS || now < m.known.at) {
    m.known = { n: ctx.state.files.count(mapping.name), at: now };
  }
  if (m.known.n < g.minFiles) return 0;
  return Math.min(g.settleMs - quiet, capLeft);
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
