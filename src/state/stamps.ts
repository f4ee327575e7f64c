import type Database from 'better-sqlite3';
import { withoutFsync } from './relaxed.js';

/** A metadata stamp waiting to go out; a later `seq` for the same asset supersedes it. */
export interface PendingStamp {
  seq: number;
  assetId: string;
  /** The bulk Annotate job without id and type: metadata, and fileName/slug when they differ. */
  body: Record<string, unknown>;
  attempts: number;
  /** When the upload left it (ms): a stamp sent much later is merged with the asset as it is then. */
  createdAt: number;
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
  private readonly sRestale;
  private readonly sDrop;
  private readonly sCount;

  constructor(private readonly db: Database.Database) {
    // Appended: a newer stamp for an asset gets a later seq, so one in flight is
    // never mistaken for it when its answer comes back.
    this.sPut = db.prepare(`INSERT INTO stamps (asset_id, body, attempts, created_at) VALUES (?, ?, 0, ?)`);
    this.sPending = db.prepare(`SELECT seq, asset_id, body, attempts, created_at FROM stamps ORDER BY seq LIMIT ?`).raw();
    // One statement for a whole bulk request's stamps, not one per stamp.
    this.sDone = db.prepare(`DELETE FROM stamps WHERE seq IN (SELECT value FROM json_each(?))`);
    this.sBump = db.prepare(`UPDATE stamps SET attempts = attempts + 1 WHERE seq = ?`);
    // Created at 0: the next round reads the asset again and merges before sending.
    this.sRestale = db.prepare(`UPDATE stamps SET attempts = attempts + 1, created_at = 0 WHERE seq = ?`);
    // No index on asset_id (see migration 3): a scan of the few pending rows, and only for moves and adoptions.
    this.sDrop = db.prepare(`DELETE FROM stamps WHERE asset_id = ? RETURNING seq, body`).raw();
    this.sCount = db.prepare(`SELECT count(DISTINCT asset_id) FROM stamps`).pluck();
  }

  put(assetId: string, body: object, now: number): void {
    this.sPut.run(assetId, JSON.stringify(body), now);
  }

  pending(limit: number): PendingStamp[] {
    return (this.sPending.all(limit) as Array<[number, string, string, number, number]>).map(
      ([seq, assetId, body, attempts, createdAt]) => ({
        seq,
        assetId,
        body: JSON.parse(body) as Record<string, unknown>,
        attempts,
        createdAt,
      }),
    );
  }

  /** Sent (or no longer wanted) and refused-once, in one transaction, with `also` (what the sent ones leave behind). */
  settle(done: readonly number[], refused: readonly number[], also?: () => void): void {
    if (done.length === 0 && refused.length === 0 && !also) return;
    // Lost in a power cut, a stamp is only sent once more.
    withoutFsync(this.db, () =>
      this.db.transaction(() => {
        if (done.length > 0) this.sDone.run(JSON.stringify(done));
        for (const seq of refused) this.sBump.run(seq);
        also?.();
      })(),
    );
  }

  /** Refused because the asset moved on (412): merged again with the asset as it is, next round. */
  restale(seqs: readonly number[]): void {
    for (const seq of seqs) this.sRestale.run(seq);
  }

  /** A direct annotate of this asset supersedes its pending stamps; their bodies, oldest first. */
  drop(assetId: string): Array<Record<string, unknown>> {
    return (this.sDrop.all(assetId) as Array<[number, string]>)
      .sort((a, b) => a[0] - b[0])
      .map(([, b]) => JSON.parse(b) as Record<string, unknown>);
  }

  count(): number {
    return this.sCount.get() as number;
  }
}
