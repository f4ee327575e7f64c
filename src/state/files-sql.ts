/** The files table's row shapes and its statements' text (FilesRepo prepares them). */

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

export interface KeptRow {
  mapping: string;
  path: string;
  assetId: string;
  goneSince: number;
  /** null: deletes: keep. 'referenced': the delete was refused, content still uses the asset. */
  reason: string | null;
}

export interface FileStats {
  inSync: number;
  missing: number;
  kept: number;
  /** Kept because Squidex refused the delete: content still uses the asset. */
  referenced: number;
}

export const COLS = 'mapping, path, size, mtime_ms, sha256, asset_id, parent_id, version, synced_at, missing_since';
export type Raw = [
  string,
  string,
  number | null,
  number | null,
  string | null,
  string,
  string | null,
  number | null,
  number | null,
  number | null,
];

// Positional rows (`.raw()`) skip building a keyed object per row in the driver,
// which is most of the cost of listing 100k rows.
export function toRow(r: Raw): FileRow {
  return {
    mapping: r[0],
    path: r[1],
    size: r[2],
    mtimeMs: r[3],
    sha256: r[4],
    assetId: r[5],
    parentId: r[6],
    version: r[7],
    syncedAt: r[8],
    missingSince: r[9],
  };
}

// NUL cannot occur in a path, and SQLite prints a REAL so that it reads back exactly.
const LEAN_ROW = `path || char(0) || ifnull(size, '') || char(0) || ifnull(mtime_ms, '') || char(0) || ifnull(missing_since, '')`;

export const listLean = `SELECT group_concat(${LEAN_ROW}, char(0)) FROM files WHERE mapping = ?`;

// The primary key's order (BINARY: UTF-8 bytes), which the rescan's ordered walk follows (watch/order.ts).
export const listAfter = `
  SELECT group_concat(${LEAN_ROW}, char(0) ORDER BY path)
  FROM (SELECT path, size, mtime_ms, missing_since FROM files WHERE mapping = ? AND path > ? ORDER BY path LIMIT ?)`;

// Rows under 'A/B' are exactly the paths in ['A/B/', 'A/B0'): a range of the primary key.
export const listUnder = `SELECT ${COLS} FROM files WHERE mapping = ? AND path >= ? AND path < ? LIMIT ?`;

// '.' and '/' are neighbours in every collation SQLite uses here: (p., p/) is "starts with p.".
export const stem = `SELECT ${COLS} FROM files WHERE mapping = ? AND (path = ? OR (path > ? AND path < ?))`;

// A reservation never overwrites a row that already has an asset id: the id
// may have reached the server, and a second id for the path would make a duplicate.
export const reserveIfFree = `INSERT OR IGNORE INTO files (mapping, path, asset_id) VALUES (?, ?, ?)`;
export const reserve = `INSERT INTO files (mapping, path, asset_id) VALUES (?, ?, ?) ON CONFLICT (mapping, path) DO NOTHING`;

export const synced = `
  INSERT INTO files (${COLS}) VALUES (@mapping, @path, @size, @mtimeMs, @sha256, @assetId, @parentId, @version, @syncedAt, @missingSince)
  ON CONFLICT (mapping, path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
    sha256 = excluded.sha256, asset_id = excluded.asset_id, parent_id = excluded.parent_id,
    version = excluded.version, synced_at = excluded.synced_at, missing_since = excluded.missing_since`;

// INDEXED BY: the planner chose the primary key (a scan of the whole mapping, growing
// with the table) over the partial index made for this query.
export const bySha = `SELECT ${COLS} FROM files INDEXED BY files_sha WHERE mapping = ? AND sha256 = ? AND size = ? AND sha256 IS NOT NULL`;

export const stats = `
  SELECT mapping, sum(inSync) AS inSync, sum(missing) AS missing, sum(kept) AS kept, sum(referenced) AS referenced FROM (
    SELECT mapping, sha256 IS NOT NULL AND missing_since IS NULL AS inSync, missing_since IS NOT NULL AS missing, 0 AS kept, 0 AS referenced FROM files
    UNION ALL SELECT mapping, 0, 0, reason IS NULL, reason IS NOT NULL FROM kept) GROUP BY mapping`;

export const keep = `
  INSERT INTO kept (mapping, path, asset_id, gone_since)
  SELECT mapping, path, asset_id, coalesce(missing_since, @now) FROM files WHERE mapping = @mapping AND path = @path
  ON CONFLICT (mapping, path) DO UPDATE SET asset_id = excluded.asset_id, gone_since = excluded.gone_since, reason = NULL`;

export const kept = `
  SELECT mapping, path, asset_id AS assetId, gone_since AS goneSince, reason FROM kept
  WHERE reason IS NULL ORDER BY gone_since DESC, mapping, path LIMIT ?`;

// The rows seen missing are read through the partial index files_missing, never the
// mapping's every row: the live delete guard asks for every deleted file.
export const countMissing = `SELECT count(*) FROM files WHERE mapping = ? AND missing_since > ?`;
export const newestMissing = `SELECT max(missing_since) FROM files WHERE mapping = ? AND missing_since IS NOT NULL`;
export const missingPaths = `SELECT path FROM files WHERE mapping = ? AND missing_since IS NOT NULL`;

// Taking the row before the server delete: a move that claimed it meanwhile
// (same asset id, new path) makes this change nothing, and nothing is deleted.
export const takeForDelete = `DELETE FROM files WHERE mapping = ? AND path = ? AND asset_id = ? AND missing_since IS NOT NULL`;

// The claimed row forgets its hash: if the process dies before the server
// calls finish, the next run sees "content unknown" and upserts the same id
// into the new folder instead of taking the file for already in sync.
export const claimMove = `UPDATE files SET path = ?, missing_since = NULL, sha256 = NULL WHERE mapping = ? AND path = ?`;

export const renamePrefix = `
  UPDATE files SET path = @to || substr(path, @n + 1), missing_since = NULL
  WHERE mapping = @mapping AND substr(path, 1, @n) = @from`;
