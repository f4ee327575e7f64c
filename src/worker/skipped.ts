import type { SkipReason, WalkResult } from '../watch/walk.js';

/** meta key under which a rescan records what it found and does not sync (`status` runs apart from the daemon). */
export function skippedKey(mapping: string): string {
  return `skipped:${mapping}`;
}

export interface SkippedEntry {
  path: string;
  reason: SkipReason;
}

export interface SkippedList {
  /** All that the last rescan skipped; `items` holds the first MAX_LISTED of them by path. */
  total: number;
  items: SkippedEntry[];
}

/** A share full of symlinks must not make a meta value of megabytes. */
const MAX_LISTED = 100;

/** What a user reads for each reason, and what to do about it. */
export const SKIP_REASONS: Record<SkipReason, string> = {
  name: 'the name is not valid UTF-8 (Squidex names are Unicode); rename it to sync it',
  symlink: 'a symbolic link (never followed)',
  fifo: 'a FIFO (named pipe), not a file',
  socket: 'a socket, not a file',
  device: 'a device, not a file',
  other: 'not a regular file',
};

/**
 * Stores what a walk skipped, for `status`. Written only when it changed, so a
 * rescan that finds the tree as it was commits nothing. True when it changed.
 */
export function recordSkipped(
  meta: { get(key: string): string | undefined; set(key: string, value: string): void; delete(key: string): void },
  mapping: string,
  skipped: WalkResult['skipped'],
): boolean {
  const key = skippedKey(mapping);
  const before = meta.get(key);
  if (skipped.length === 0) {
    if (before === undefined) return false;
    meta.delete(key);
    return true;
  }
  // Sorted: a walk on several threads finds them in another order each time.
  const items = [...skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, MAX_LISTED);
  const value = JSON.stringify({ total: skipped.length, items } satisfies SkippedList);
  if (value === before) return false;
  meta.set(key, value);
  return true;
}

export function readSkipped(meta: { get(key: string): string | undefined }, mapping: string): SkippedList {
  const raw = meta.get(skippedKey(mapping));
  if (!raw) return { total: 0, items: [] };
  try {
    return JSON.parse(raw) as SkippedList;
  } catch {
    return { total: 0, items: [] };
  }
}
