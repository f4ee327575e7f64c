import { readdir } from 'node:fs/promises';
import { SyncError } from '../lib/errors.js';
import type { FileRow } from '../state/index.js';
import type { Outcome, ReconcileContext } from './context.js';
import type { MappingRuntime } from './mapping.js';

/** meta key under which a rescan records that a mapping's deletions are held. */
export function guardKey(mapping: string): string {
  return `deleteGuard:${mapping}`;
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
): Promise<Outcome> {
  if (!row) return { action: 'none' };
  const files = ctx.state.files;
  const now = ctx.clock.now();
  if (row.missingSince === null) {
    files.markMissing(mapping.name, relPath, now);
    return { action: 'hold', requeueAfterMs: ctx.moveWindowMs, detail: 'held for the move window' };
  }
  const waited = now - row.missingSince;
  if (waited < ctx.moveWindowMs) return { action: 'hold', requeueAfterMs: ctx.moveWindowMs - waited };

  const held = await guardReason(mapping, ctx);
  if (held) return { action: 'hold', detail: held };

  if (mapping.deletes === 'delete' && row.sha256 !== null) {
    try {
      await ctx.client.deleteAsset(row.assetId, { permanent: mapping.permanentDeletes });
    } catch (e) {
      // Already gone on the server is the outcome we wanted.
      if (!(e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE'))) throw e;
    }
    files.remove(mapping.name, relPath);
    return { action: 'delete' };
  }
  files.forget(mapping.name, relPath, now);
  return { action: 'forget' };
}

/**
 * Why deletions of this mapping must not propagate now, or null. The mapping
 * root missing, unreadable or empty looks exactly like "everything was
 * deleted" and is almost always an unmounted share.
 */
export async function guardReason(mapping: MappingRuntime, ctx: ReconcileContext): Promise<string | null> {
  let entries: string[];
  try {
    entries = await readdir(mapping.local);
  } catch {
    // Never confirmable: a user who means "delete everything" keeps the (empty) folder.
    return `the folder ${mapping.local} is missing or unreadable (an unmounted share?)`;
  }
  if (ctx.allowMassDelete) return null;
  const flagged = ctx.state.meta.get(guardKey(mapping.name));
  if (flagged) return flagged;
  if (entries.length === 0) return `the folder ${mapping.local} is empty (an unmounted share?)`;
  return null;
}
