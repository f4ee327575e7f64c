import type Database from 'better-sqlite3';
import { emptyTables, type EmptyTables } from './empty.js';
import type { KeptRow } from './files.js';

/** Why a path gone locally still has its asset on the server. */
export type KeptReason = 'referenced';

/**
 * The reasons beside the `kept` list that FilesRepo.forget() fills under
 * `deletes: keep`: a delete Squidex refused because content still uses the
 * asset keeps the path here with reason 'referenced', so the asset id is not
 * forgotten, the path is listed, and the next full rescan asks again.
 */
export class KeptRepo {
  private readonly sGet;
  private readonly sPut;
  private readonly sRemove;
  private readonly sReason;
  private readonly sByReason;
  private readonly sList;
  private readonly empty: EmptyTables;

  constructor(db: Database.Database) {
    this.empty = emptyTables(db);
    this.sGet = db.prepare(
      `SELECT mapping, path, asset_id AS assetId, gone_since AS goneSince, reason FROM kept WHERE mapping = ? AND path = ?`,
    );
    this.sPut = db.prepare(`INSERT OR REPLACE INTO kept (mapping, path, asset_id, gone_since, reason) VALUES (?, ?, ?, ?, ?)`);
    this.sRemove = db.prepare(`DELETE FROM kept WHERE mapping = ? AND path = ?`);
    this.sReason = db.prepare(`UPDATE kept SET reason = ? WHERE mapping = ? AND path = ?`);
    this.sByReason = db.prepare(`SELECT path FROM kept WHERE mapping = ? AND reason = ?`).pluck();
    this.sList = db.prepare(
      `SELECT mapping, path, asset_id AS assetId, gone_since AS goneSince, reason FROM kept WHERE reason = ? ORDER BY gone_since DESC, mapping, path LIMIT ?`,
    );
  }

  get(mapping: string, path: string): KeptRow | undefined {
    return this.sGet.get(mapping, path) as KeptRow | undefined;
  }

  put(row: Omit<KeptRow, 'reason'>, reason: KeptReason | null): void {
    this.empty.wrote('kept');
    this.sPut.run(row.mapping, row.path, row.assetId, row.goneSince, reason);
  }

  remove(mapping: string, path: string): void {
    this.sRemove.run(mapping, path);
  }

  setReason(mapping: string, path: string, reason: KeptReason | null): void {
    this.sReason.run(reason, mapping, path);
  }

  /** Every mapping's paths kept for this reason, newest first, for `status`. */
  list(reason: KeptReason, limit = 200): KeptRow[] {
    return this.sList.all(reason, limit) as KeptRow[];
  }

  /** Paths of a mapping kept for this reason (a full rescan looks at the 'referenced' ones again). */
  paths(mapping: string, reason: KeptReason): string[] {
    return this.sByReason.all(mapping, reason) as string[];
  }
}
