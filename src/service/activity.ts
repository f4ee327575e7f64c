import type { Action } from '../worker/context.js';

/** One thing the daemon did to the server, for the page's "recent activity". */
export interface ActivityEntry {
  at: number;
  action: Action;
  mapping: string;
  path: string;
}

/** Actions a person would call activity; the quiet ones (nothing to do, a touch, a hold) are not. */
const NOTABLE = new Set<Action>(['upload', 'replace', 'move', 'adopt', 'delete', 'forget']);
const RECENT = 100;
/** Completions older than this do not count towards the rate. */
const RATE_WINDOW_MS = 60_000;
const MAX_SAMPLES = 20_000;

/**
 * What the daemon did lately, in memory only (a restart starts a new list):
 * the last RECENT server changes, and per mapping the jobs finished since its
 * queue was last empty, for "syncing N of M" with a rate and an ETA.
 */
export class Activity {
  private readonly ring: ActivityEntry[] = [];
  private readonly batches = new Map<string, { done: number; times: number[] }>();

  record(action: Action, mapping: string, path: string, at: number): void {
    const b = this.batch(mapping);
    b.done += 1;
    b.times.push(at);
    if (b.times.length > MAX_SAMPLES) b.times.splice(0, b.times.length - MAX_SAMPLES);
    if (!NOTABLE.has(action)) return;
    this.ring.push({ at, action, mapping, path });
    if (this.ring.length > RECENT) this.ring.shift();
  }

  /** Newest first. */
  recent(): ActivityEntry[] {
    return [...this.ring].reverse();
  }

  /**
   * Progress of a mapping with `waiting` jobs left. An empty queue ends the
   * batch: the next file starts "1 of 1" again, not "5,001 of 5,001".
   */
  progress(mapping: string, waiting: number, now: number): { done: number; total: number; perSecond: number; etaSeconds: number | null } {
    const b = this.batch(mapping);
    while (b.times.length > 0 && now - b.times[0] > RATE_WINDOW_MS) b.times.shift();
    if (waiting === 0) {
      const done = b.done;
      b.done = 0;
      return { done, total: done, perSecond: 0, etaSeconds: null };
    }
    const span = b.times.length > 1 ? Math.max(1, now - b.times[0]) : 0;
    const perSecond = span > 0 ? (b.times.length * 1000) / span : 0;
    return { done: b.done, total: b.done + waiting, perSecond, etaSeconds: perSecond > 0 ? Math.ceil(waiting / perSecond) : null };
  }

  private batch(mapping: string): { done: number; times: number[] } {
    let b = this.batches.get(mapping);
    if (!b) {
      b = { done: 0, times: [] };
      this.batches.set(mapping, b);
    }
    return b;
  }
}
