import type { DeleteGuardSettings } from '../config/index.js';

/** The delete guard's thresholds (config deleteGuard): one type for the rescan, the worker and the dry run. */
export type GuardSettings = DeleteGuardSettings;

/** What the guard weighs: counts of one mapping, not yet confirmed by `confirm-deletes`. */
export interface GuardCounts {
  /** Synced files the files table knows. */
  known: number;
  /** Of those, the ones gone from disk. */
  gone: number;
  /** Files the walk found; undefined where no walk was made (deletions the watcher reports). */
  present?: number;
  rootMissing?: boolean;
}

/**
 * Why this mapping's deletions must be held, or null: its root missing (held even
 * when confirmed: an unmounted share far more often than an intent), emptied, or
 * more of its files gone at once than deleteGuard allows. The one place of the formula.
 */
export function deleteGuardVerdict(
  local: string,
  c: GuardCounts,
  settings: GuardSettings | undefined,
  allowMassDelete = false,
): string | null {
  if (c.rootMissing) return missingRootReason(local);
  if (allowMassDelete || !settings?.enabled) return null;
  if (c.present === 0 && c.known > 0) return `the folder ${local} is empty but ${c.known} files were synced from it`;
  const { maxShare, minFiles } = settings;
  if (c.gone >= minFiles && c.known > 0 && c.gone / c.known > maxShare) {
    return `${c.gone} of ${c.known} files (${Math.round((100 * c.gone) / c.known)}%) vanished at once, more than the deleteGuard limit of ${Math.round(maxShare * 100)}%`;
  }
  return null;
}

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
