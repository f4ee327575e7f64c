import type Database from 'better-sqlite3';
import type { QueueOptions } from './jobs-options.js';

const PAUSE_KEY = 'queue.pausedUntil';

/**
 * The server-wide pause (a 429 or 503 for everyone): one row of `meta`, so a
 * restart keeps honouring it, and the count of unsized refusals in a row.
 */
export class QueuePause {
  /** Unsized server pauses in a row (in memory: after a restart the first one is short again). */
  private streak = 0;
  private readonly sGet;
  private readonly sSet;
  private readonly sDel;

  constructor(
    db: Database.Database,
    private readonly options: QueueOptions,
  ) {
    this.sGet = db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck();
    this.sSet = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.sDel = db.prepare(`DELETE FROM meta WHERE key = ?`);
  }

  /** Epoch ms until which claims return nothing; 0 when not paused. */
  until(): number {
    const v = this.sGet.get(PAUSE_KEY) as string | undefined;
    return v === undefined ? 0 : Number(v);
  }

  /** Sets the pause to `untilMs` unless one already lasts longer. */
  extend(untilMs: number): void {
    if (untilMs > this.until()) this.set(Math.round(untilMs));
  }

  /** Sets the pause to `untilMs` as it is (recovery shortens one left from the future). */
  set(untilMs: number): void {
    this.sSet.run(PAUSE_KEY, String(untilMs));
  }

  clear(): void {
    this.sDel.run(PAUSE_KEY);
  }

  /** A request succeeded: the next unsized pause starts short again. */
  succeeded(): void {
    this.streak = 0;
  }

  /**
   * A pause the server did not size (429 without Retry-After). Squidex means its monthly
   * quota, where asking often is pointless; a proxy in front may mean a few seconds. So
   * start at backoffBaseMs and double while refusals follow each other, up to
   * defaultPauseMs: a stray 429 costs seconds, not a quarter of an hour, and a used-up
   * quota still reaches the long pause after a dozen probes. Any success resets it.
   */
  unsized(): number {
    const ms = Math.min(this.options.defaultPauseMs, this.options.backoffBaseMs * 2 ** Math.min(this.streak, 40));
    this.streak++;
    return ms;
  }
}
