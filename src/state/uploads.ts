import type Database from 'better-sqlite3';

/** A resumable (tus) upload in progress for one path. */
export interface UploadRow {
  mapping: string;
  path: string;
  assetId: string;
  /** `url|app` of the Squidex the upload URL belongs to. */
  server: string;
  url: string;
  /** The file's size and mtime when the upload started. */
  size: number;
  mtimeMs: number;
  /** The offset the server last confirmed; written at most about once a second, so it may lag. */
  confirmed: number;
  /** How far any PATCH of this (unchanged) file got: what is sent below it again counts as sent again. */
  sentTo: number;
  startedAt: number;
  updatedAt: number;
}

const COLS = `mapping, path, asset_id AS assetId, server, url, size, mtime_ms AS mtimeMs, confirmed, sent_to AS sentTo,
  started_at AS startedAt, updated_at AS updatedAt`;

/**
 * Uploads in progress, so a dropped link, a stop or a crash resumes where the
 * server is instead of sending the file again. The row is written before the
 * first byte goes out and removed with the synced row of the finished file.
 */
export class UploadsRepo {
  private readonly sGet;
  private readonly sPut;
  private readonly sProgress;
  private readonly sRemove;
  private readonly sList;
  private readonly sStale;
  private readonly sAny;
  /** False once the table was seen empty, until this connection writes a row. */
  #mayHold: boolean | undefined;

  constructor(db: Database.Database) {
    this.sGet = db.prepare(`SELECT ${COLS} FROM uploads WHERE mapping = ? AND path = ?`);
    this.sPut = db.prepare(
      `INSERT OR REPLACE INTO uploads (mapping, path, asset_id, server, url, size, mtime_ms, confirmed, sent_to, started_at, updated_at)
       VALUES (@mapping, @path, @assetId, @server, @url, @size, @mtimeMs, @confirmed, @sentTo, @startedAt, @updatedAt)`,
    );
    this.sProgress = db.prepare(
      `UPDATE uploads SET confirmed = ?, sent_to = max(sent_to, ?), updated_at = ? WHERE mapping = ? AND path = ? AND url = ?`,
    );
    this.sRemove = db.prepare(`DELETE FROM uploads WHERE mapping = ? AND path = ?`);
    this.sList = db.prepare(`SELECT ${COLS} FROM uploads ORDER BY mapping, path LIMIT ?`);
    this.sStale = db.prepare(`DELETE FROM uploads WHERE updated_at < ?`);
    this.sAny = db.prepare(`SELECT EXISTS (SELECT 1 FROM uploads)`).pluck();
  }

  /**
   * Could the table hold a row? Looked up once, then known from this
   * connection's own writes: exact for the lock holder, the one process that
   * writes uploads, and what lets each small file skip a lookup.
   */
  mayHoldRows(): boolean {
    this.#mayHold ??= this.sAny.get() === 1;
    return this.#mayHold;
  }

  get(mapping: string, path: string): UploadRow | undefined {
    return this.sGet.get(mapping, path) as UploadRow | undefined;
  }

  put(row: UploadRow): void {
    this.#mayHold = true;
    this.sPut.run(row);
  }

  progress(row: Pick<UploadRow, 'mapping' | 'path' | 'url'>, confirmed: number, sentTo: number, at: number): void {
    this.sProgress.run(confirmed, sentTo, at, row.mapping, row.path, row.url);
  }

  remove(mapping: string, path: string): void {
    this.sRemove.run(mapping, path);
  }

  list(limit = 200): UploadRow[] {
    return this.sList.all(limit) as UploadRow[];
  }

  /** Rows not touched since `before`: the server has expired those uploads (2 days in Squidex). */
  dropStale(before: number): number {
    return this.sStale.run(before).changes;
  }
}
