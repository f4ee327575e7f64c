import type Database from 'better-sqlite3';
import { emptyTables, type EmptyTables } from './empty.js';

/** A path in a mapping that is never read: a symlink, FIFO, socket or device, or a file outside the mapping. */
export interface SkippedRow {
  mapping: string;
  path: string;
  reason: string;
  at: number;
}

/**
 * Paths skipped on purpose, for `status`. A full rescan sees every one of
 * them and replaces the mapping's list; between rescans the worker adds the
 * paths it refused to open, and a path that syncs again leaves the list.
 */
export class SkippedRepo {
  private readonly sPut;
  private readonly sClear;
  private readonly sClearMapping;
  private readonly sList;
  private readonly sCount;
  private readonly empty: EmptyTables;

  constructor(private readonly db: Database.Database) {
    this.empty = emptyTables(db);
    this.sPut = db.prepare(`INSERT OR REPLACE INTO skipped (mapping, path, reason, at) VALUES (?, ?, ?, ?)`);
    this.sClear = db.prepare(`DELETE FROM skipped WHERE mapping = ? AND path = ?`);
    this.sClearMapping = db.prepare(`DELETE FROM skipped WHERE mapping = ?`);
    this.sList = db.prepare(`SELECT mapping, path, reason, at FROM skipped ORDER BY mapping, path LIMIT ?`);
    this.sCount = db.prepare(`SELECT mapping, count(*) AS n FROM skipped GROUP BY mapping`);
  }

  put(mapping: string, path: string, reason: string, at: number): void {
    this.empty.wrote('skipped');
    this.sPut.run(mapping, path, reason, at);
  }

  clear(mapping: string, path: string): void {
    if (this.empty.isEmpty('skipped')) return;
    this.sClear.run(mapping, path);
  }

  /** What a full rescan found, in place of the mapping's list. */
  replace(mapping: string, rows: ReadonlyArray<{ path: string; reason: string }>, at: number): void {
    this.empty.wrote('skipped');
    this.db.transaction(() => {
      this.sClearMapping.run(mapping);
      for (const r of rows) this.sPut.run(mapping, r.path, r.reason, at);
    })();
  }

  list(limit = 200): SkippedRow[] {
    return this.sList.all(limit) as SkippedRow[];
  }

  counts(): Map<string, number> {
    return new Map((this.sCount.all() as { mapping: string; n: number }[]).map((r) => [r.mapping, r.n]));
  }
}
