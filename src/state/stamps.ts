import type Database from 'better-sqlite3';
import { withoutFsync } from './relaxed.js';

/** A metadata stamp waiting to go out; `seq` (the rowid) changes when a newer stamp replaces it. */
export interface PendingStamp {
  seq: number;
  assetId: string;
  /** The bulk Annotate job without id and type: metadata, and fileName/slug when they differ. */
  body: Record<string, unknown>;
  attempts: number;
}

/**
 * Stamps written with a job's synced row and sent later in one bulk request:
 * the worker slot is free as soon as the upload is done, and a first sync
 * costs one request per file instead of two. Kept in the database so a stamp
 * is never lost to a crash (a lost state database loses them, and then
 * adoption falls back to Squidex's own fileHash).
 */
export class StampsRepo {
  private readonly sPut;
  private readonly sPending;
  private readonly sDone;
  private readonly sBump;
  private readonly sDrop;
  private readonly sCount;

  constructor(private readonly db: Database.Database) {
    // REPLACE deletes and inserts: a newer stamp for the same asset gets a new rowid, so
    // an older one in flight is not mistaken for it when its answer comes back.
    this.sPut = db.prepare(`INSERT OR REPLACE INTO stamps (asset_id, body, attempts, created_at) VALUES (?, ?, 0, ?)`);
    this.sPending = db.prepare(`SELECT rowid, asset_id, body, attempts FROM stamps ORDER BY rowid LIMIT ?`).raw();
    this.sDone = db.prepare(`DELETE FROM stamps WHERE rowid = ?`);
    this.sBump = db.prepare(`UPDATE stamps SET attempts = attempts + 1 WHERE rowid = ?`);
    this.sDrop = db.prepare(`DELETE FROM stamps WHERE asset_id = ?`);
    this.sCount = db.prepare(`SELECT count(*) FROM stamps`).pluck();
  }

  put(assetId: string, body: object, now: number): void {
    this.sPut.run(assetId, JSON.stringify(body), now);
  }

  pending(limit: number): PendingStamp[] {
    return (this.sPending.all(limit) as Array<[number, string, string, number]>).map(([seq, assetId, body, attempts]) => ({
      seq, assetId, body: JSON.parse(body) as Record<string, unknown>, attempts,
    }));
  }

  /** Sent (or no longer wanted) and refused-once, in one transaction. */
  settle(done: readonly number[], refused: readonly number[]): void {
    if (done.length === 0 && refused.length === 0) return;
    // Lost in a power cut, a stamp is only sent once more.
    withoutFsync(this.db, () =>
      this.db.transaction(() => {
        for (const seq of done) this.sDone.run(seq);
        for (const seq of refused) this.sBump.run(seq);
      })(),
    );
  }

  /** A direct annotate of this asset supersedes its pending stamp. */
  drop(assetId: string): void {
    this.sDrop.run(assetId);
  }

  count(): number {
    return this.sCount.get() as number;
  }
}
