/**
 * What to do about one path, from what was observed of it: pure, no I/O. The
 * worker (reconcile.ts) and the dry run (plan.ts) both ask it, each gathering
 * the observations it asks for (`need`) in its own way, so a dry run cannot
 * drift from a run.
 */
import { SyncError } from '../lib/errors.js';

/** Below this, hashing first costs little and keeps one path for most files. */
export const UNHASHED_MIN_BYTES = 8 * 1024 * 1024;

/** The synced row of a path, as far as the decision goes. */
export interface RowView {
  sha256: string | null;
  size: number | null;
  mtimeMs: number | null;
  missingSince: number | null;
}

/** A regular file is at the path. Every optional field is an answer to an earlier `need`. */
export interface FileObservation {
  kind: 'file';
  row: RowView | undefined;
  size: number;
  mtimeMs: number;
  /** The job says the path was reported gone (an unlink, a rescan's gone). */
  reportedGone: boolean;
  /** The job only asks for tags and metadata again. */
  annotateOnly: boolean;
  /** A new big file could be a move or an adoption (answer to `known`). */
  mightBeKnown?: boolean;
  /** Answer to `hash`. */
  digest?: { sha256: string; size: number };
  /** Answer to `move`: a vanished synced file with these bytes, and whether it went with its whole folder. */
  move?: { from: string | null; withFolder: boolean };
  /** Answer to `adoption`: an asset in the folder that is this file (or was, with older content). */
  adoption?: { assetId: string; sameContent: boolean } | null;
}

/** No regular file is at the path (any more). */
export interface GoneObservation {
  kind: 'gone';
  row: RowView | undefined;
  /** The move window is over (always, for a dry run: it tells what happens once it is). */
  waitedMs: number;
  moveWindowMs: number;
  /** Why deletions of the mapping are held now (delete-guard.ts), or null; answer to `guard`. */
  held?: string | null;
  /**
   * How much longer the mapping's deletions need to settle before they are weighed
   * together (0: settled, or nothing to weigh); answer to `settle`.
   */
  settleMs?: number;
  deletes: 'delete' | 'keep';
  /** The user chose "keep" for files missing since before this one. */
  keptByUser: boolean;
}

/** The hold's detail while a mapping's deletions are still coming in. */
export const SETTLING = 'waits until no more files vanish, to weigh them together';

export type Observation = FileObservation | GoneObservation;

export type Need = 'known' | 'hash' | 'move' | 'adoption' | 'guard' | 'settle';

export type Decision =
  | { need: Need }
  | { action: 'none'; detail?: string }
  | { action: 'annotate' }
  | { action: 'touch' }
  /** The file changed while it was hashed: look again once it is quiet. */
  | { action: 'outran' }
  /** New content; `reserve`: under the id of an asset that was this file with older content. */
  | { action: 'upload'; hashed: boolean; reserve?: string }
  | { action: 'replace' }
  | { action: 'move'; from: string }
  | { action: 'adopt'; assetId: string }
  | { action: 'mark-missing' }
  | { action: 'hold'; requeueAfterMs?: number; detail?: string }
  | { action: 'delete' }
  | { action: 'forget' };

export type DecidedAction = Exclude<Decision, { need: Need }>['action'];

/** A decision its caller has no step for: a bug, never the file's fault. */
export function undecided(d: Decision): SyncError {
  return new SyncError('UNEXPECTED', `no step for the decision ${JSON.stringify(d)}`, { retry: 'never' });
}

export function decide(o: Observation): Decision {
  return o.kind === 'file' ? decideFile(o) : decideGone(o);
}

function decideFile(o: FileObservation): Decision {
  const { row } = o;
  if (!o.reportedGone && row?.sha256 && row.missingSince === null && row.size === o.size && row.mtimeMs === o.mtimeMs) {
    return o.annotateOnly ? { action: 'annotate' } : { action: 'none' };
  }
  if (!row && o.size >= UNHASHED_MIN_BYTES && o.digest === undefined) {
    // A big new file that can be neither a move nor an adoption is sent unhashed: reading it twice halves the throughput.
    if (o.mightBeKnown === undefined) return { need: 'known' };
    if (!o.mightBeKnown) return { action: 'upload', hashed: false };
  }
  if (o.digest === undefined) return { need: 'hash' };
  if (o.digest.size !== o.size) return { action: 'outran' };
  if (row?.sha256 === o.digest.sha256) return { action: 'touch' };
  if (row) return row.sha256 ? { action: 'replace' } : { action: 'upload', hashed: true };
  if (o.move === undefined) return { need: 'move' };
  if (o.move.withFolder) return { action: 'none', detail: 'moved with its folder' };
  if (o.move.from !== null) return { action: 'move', from: o.move.from };
  if (o.adoption === undefined) return { need: 'adoption' };
  if (o.adoption === null) return { action: 'upload', hashed: true };
  if (o.adoption.sameContent) return { action: 'adopt', assetId: o.adoption.assetId };
  return { action: 'upload', hashed: true, reserve: o.adoption.assetId };
}

function decideGone(o: GoneObservation): Decision {
  const { row } = o;
  if (!row) return { action: 'none' };
  if (row.missingSince === null) return { action: 'mark-missing' };
  if (o.waitedMs < o.moveWindowMs) return { action: 'hold', requeueAfterMs: o.moveWindowMs - o.waitedMs };
  if (o.held === undefined) return { need: 'guard' };
  if (o.held !== null) return { action: 'hold', detail: o.held };
  // The guard passes on what is missing now; files of the same deletion may still be reported.
  if (o.settleMs === undefined) return { need: 'settle' };
  if (o.settleMs > 0) return { action: 'hold', requeueAfterMs: o.settleMs, detail: SETTLING };
  // A row without a hash is an upload that may not have reached the server: forgotten, kept in `kept`.
  if (o.deletes === 'delete' && row.sha256 !== null && !o.keptByUser) return { action: 'delete' };
  return { action: 'forget' };
}
