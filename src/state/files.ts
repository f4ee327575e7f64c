import type Database from 'better-sqlite3';

/** What we know is on the server for one local file. */
export interface FileRow {
  mapping: string;
  path: string;
  size: number | null;
  mtimeMs: number | null;
  sha256: string | null;
  assetId: string;
  parentId: string | null;
  version: number | null;
  syncedAt: number | null;
  missingSince: number | null;
}

const COLS = 'mapping, path, size, mtime_ms, sha256, asset_id, parent_id, version, synced_at, missing_since';
type Raw = [string, string, number | null, number | null, string | null, string, string | null, number | null, number | null, number | null];

// Positional rows (`.raw()`) skip building a keyed object per row in the driver,
// which is most of the cost of listing 100k rows.
function toRow(r: Raw): FileRow {
  return {
    mapping: r[0], path: r[1], size: r[2], mtimeMs: r[3], sha256: r[4],
    assetId: r[5], parentId: r[6], version: r[7], syncedAt: r[8], missingSince: r[9],
  };
}

export class FilesRepo {
  private readonly sGet;
  private readonly sList;
  private readonly sReserve;
  private readonly sSynced;
  private readonly sRemove;
  private readonly sRename;
  private readonly sBySha;
  private readonly sMissing;
  private readonly sCount;
  private readonly sByAsset;

  constructor(private readonly db: Database.Database) {
    this.sGet = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ? AND path = ?`).raw();
    this.sList = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ?`).raw();
    this.sByAsset = db.prepare(`SELECT ${COLS} FROM files WHERE asset_id = ?`).raw();
    // A reservation never overwrites a row that already has an asset id: the id
    // may have reached the server, and a second id for the path would make a duplicate.
    this.sReserve = db.prepare(
      `INSERT INTO files (mapping, path, asset_id) VALUES (?, ?, ?) ON CONFLICT (mapping, path) DO NOTHING`,
    );
    this.sSynced = db.prepare(
      `INSERT INTO files (${COLS}) VALUES (@mapping, @path, @size, @mtimeMs, @sha256, @assetId, @parentId, @version, @syncedAt, @missingSince)
       ON CONFLICT (mapping, path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
         sha256 = excluded.sha256, asset_id = excluded.asset_id, parent_id = excluded.parent_id,
         version = excluded.version, synced_at = excluded.synced_at, missing_since = excluded.missing_since`,
    );
    this.sRemove = db.prepare(`DELETE FROM files WHERE mapping = ? AND path = ?`);
    this.sRename = db.prepare(`UPDATE files SET path = ?, missing_since = NULL WHERE mapping = ? AND path = ?`);
    this.sBySha = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ? AND sha256 = ? AND size = ?`).raw();
    this.sMissing = db.prepare(`UPDATE files SET missing_since = ? WHERE mapping = ? AND path = ? AND missing_since IS NULL`);
    this.sCount = db.prepare(`SELECT count(*) FROM files WHERE mapping = ?`).pluck();
  }

  get(mapping: string, path: string): FileRow | undefined {
    const r = this.sGet.get(mapping, path) as Raw | undefined;
    return r && toRow(r);
  }

  getByAssetId(assetId: string): FileRow | undefined {
    const r = this.sByAsset.get(assetId) as Raw | undefined;
    return r && toRow(r);
  }

  /** Every row of a mapping, for the rescan's bulk diff. */
  list(mapping: string): FileRow[] {
    return (this.sList.all(mapping) as Raw[]).map(toRow);
  }

  /**
   * Writes the row with the client-chosen asset id before the first upload, so
   * a retry after a lost response reuses the id. Returns the row as stored: if
   * the path already had an id, that id wins and the caller must use it.
   */
  reserve(mapping: string, path: string, assetId: string): FileRow {
    this.sReserve.run(mapping, path, assetId);
    return this.get(mapping, path)!;
  }

  recordSynced(row: FileRow): void {
    this.sSynced.run(row);
  }

  remove(mapping: string, path: string): boolean {
    return this.sRemove.run(mapping, path).changes > 0;
  }

  /** Moves the row (and so the asset id) to a new path; false when `from` is unknown. Throws if `to` is taken. */
  rename(mapping: string, from: string, to: string): boolean {
    return this.sRename.run(to, mapping, from).changes > 0;
  }

  /** Synced rows with this content, for move detection (a file gone here and new there). */
  findBySha(mapping: string, sha256: string, size: number): FileRow[] {
    return (this.sBySha.all(mapping, sha256, size) as Raw[]).map(toRow);
  }

  /** Keeps the first time a file was seen gone, so a delete guard can wait or count. */
  markMissing(mapping: string, path: string, at: number): void {
    this.sMissing.run(at, mapping, path);
  }

  count(mapping: string): number {
    return this.sCount.get(mapping) as number;
  }

  /** Runs fn in one transaction (bulk rescan updates). */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
