import type Database from 'better-sqlite3';
import { atomic } from './atomic.js';
import { emptyTables, type EmptyTables } from './empty.js';
import { KnownCounts } from './files-count.js';
import { ShaFilter } from './files-sha.js';
import * as SQL from './files-sql.js';
import { COLS, type FileRow, type FileStats, type KeptRow, type Raw, toRow } from './files-sql.js';

export type { FileRow, FileStats, KeptRow } from './files-sql.js';

const text = (n: number | null): string => (n === null ? '' : String(n));

export class FilesRepo {
  /**
   * Writes through this repo that can change a path's row other than its own
   * job's: rows moved to another path, removed, or marked or cleared missing (a
   * rescan). A job that read its path's row, or had it read with its claim
   * (rowsOf), sees the same row later unless this changed meanwhile (one process
   * writes the table, under the state lock), so it need not read it again.
   */
  moves = 0;
  private readonly known: KnownCounts;
  private readonly shas: ShaFilter;
  private readonly sGet;
  private readonly sHas;
  private readonly sList;
  private readonly sRowsOf;
  private readonly sReserve;
  private readonly sReserveIfFree;
  private readonly sSynced;
  private readonly sRemove;
  private readonly sRename;
  private readonly sBySha;
  private readonly sBySize;
  private readonly sMissing;
  private readonly sCount;
  private readonly sByAsset;
  private readonly sStats;
  private readonly sKeep;
  private readonly sUnkeep;
  private readonly sKept;
  private readonly sClaimMove;
  private readonly sCountMissing;
  private readonly sNewestMissing;
  private readonly sMissingPaths;
  private readonly sClearMissing;
  private readonly sTakeForDelete;
  private readonly sRenamePrefix;
  private readonly sListLean;
  private readonly sStem;
  private readonly sListUnder;
  private readonly sListAfter;

  private readonly empty: EmptyTables;

  constructor(private readonly db: Database.Database) {
    this.empty = emptyTables(db);
    this.sGet = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ? AND path = ?`).raw();
    this.sHas = db.prepare(`SELECT 1 FROM files WHERE mapping = ? AND path = ?`).pluck();
    this.known = new KnownCounts(db);
    this.shas = new ShaFilter(db);
    this.sList = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ?`).raw();
    this.sRowsOf = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ? AND path IN (SELECT value FROM json_each(?))`).raw();
    this.sListUnder = db.prepare(SQL.listUnder).raw();
    this.sListLean = db.prepare(SQL.listLean).pluck();
    this.sListAfter = db.prepare(SQL.listAfter).pluck();
    this.sByAsset = db.prepare(`SELECT ${COLS} FROM files WHERE asset_id = ?`).raw();
    this.sStem = db.prepare(SQL.stem).raw();
    this.sReserveIfFree = db.prepare(SQL.reserveIfFree);
    this.sReserve = db.prepare(SQL.reserve);
    this.sSynced = db.prepare(SQL.synced);
    this.sRemove = db.prepare(`DELETE FROM files WHERE mapping = ? AND path = ?`);
    this.sRename = db.prepare(`UPDATE files SET path = ?, missing_since = NULL WHERE mapping = ? AND path = ?`);
    this.sBySha = db.prepare(SQL.bySha).raw();
    this.sBySize = db.prepare(`SELECT ${COLS} FROM files WHERE mapping = ? AND size = ? AND sha256 IS NOT NULL LIMIT ?`).raw();
    this.sMissing = db.prepare(`UPDATE files SET missing_since = ? WHERE mapping = ? AND path = ? AND missing_since IS NULL`);
    this.sCount = db.prepare(`SELECT count(*) FROM files WHERE mapping = ?`).pluck();
    this.sStats = db.prepare(SQL.stats);
    this.sKeep = db.prepare(SQL.keep);
    this.sUnkeep = db.prepare(`DELETE FROM kept WHERE mapping = ? AND path = ?`);
    this.sCountMissing = db.prepare(SQL.countMissing).pluck();
    this.sNewestMissing = db.prepare(SQL.newestMissing).pluck();
    this.sMissingPaths = db.prepare(SQL.missingPaths).pluck();
    this.sClearMissing = db.prepare(`UPDATE files SET missing_since = NULL WHERE mapping = ? AND path = ? AND missing_since IS NOT NULL`);
    this.sTakeForDelete = db.prepare(SQL.takeForDelete);
    this.sClaimMove = db.prepare(SQL.claimMove);
    this.sRenamePrefix = db.prepare(SQL.renamePrefix);
    this.sKept = db.prepare(SQL.kept);
  }

  /** The rows of these paths of one mapping, in one statement (the pool reads those of a claim with it). */
  rowsOf(mapping: string, paths: readonly string[]): Map<string, FileRow> {
    this.shas.checkOthers();
    const rows = new Map<string, FileRow>();
    for (const r of this.sRowsOf.all(mapping, JSON.stringify(paths)) as Raw[]) rows.set(r[1], toRow(r));
    return rows;
  }

  get(mapping: string, path: string): FileRow | undefined {
    const r = this.sGet.get(mapping, path) as Raw | undefined;
    return r && toRow(r);
  }

  /** Up to `limit` rows under folder `dir` (at any depth). */
  listUnder(mapping: string, dir: string, limit = -1): FileRow[] {
    return (this.sListUnder.all(mapping, `${dir}/`, `${dir}0`, limit) as Raw[]).map(toRow);
  }

  getByAssetId(assetId: string): FileRow | undefined {
    const r = this.sByAsset.get(assetId) as Raw | undefined;
    return r && toRow(r);
  }

  /** The row at `p` and those at `p.<anything>` in the same folder (the files a sidecar `p.xmp` describes). */
  stemmed(mapping: string, p: string): FileRow[] {
    return (this.sStem.all(mapping, p, `${p}.`, `${p}/`) as Raw[]).map(toRow).filter((r) => !r.path.slice(p.length).includes('/'));
  }

  /** Every row of a mapping, for the rescan's bulk diff. */
  list(mapping: string): FileRow[] {
    return (this.sList.all(mapping) as Raw[]).map(toRow);
  }

  /**
   * What a rescan compares with the walk: one flat list, four fields a row
   * (path, size, mtimeMs, missingSince; numbers as text, '' for NULL). SQLite
   * joins the rows into one string, so the driver builds no array per row: at
   * 100k rows this reads in about a third of the time of list().
   */
  listLean(mapping: string): string[] {
    let all: string | null;
    try {
      all = this.sListLean.get(mapping) as string | null;
    } catch (e) {
      // Past SQLite's string limit (1e9 bytes, tens of millions of rows): row by row.
      if ((e as { code?: string }).code !== 'SQLITE_TOOBIG') throw e;
      return this.list(mapping).flatMap((r) => [r.path, text(r.size), text(r.mtimeMs), text(r.missingSince)]);
    }
    return all === null ? [] : all.split('\0');
  }

  /**
   * Up to `limit` rows with a path after `after`, in path order (byte order of
   * UTF-8, as comparePaths in watch/order.ts), laid out as listLean: the
   * rescan's ordered merge reads the table a page at a time.
   */
  listAfter(mapping: string, after: string, limit: number): string[] {
    const all = this.sListAfter.get(mapping, after, limit) as string | null;
    return all === null ? [] : all.split('\0');
  }

  /**
   * After a failed or aborted upload under a job's asset hint: the request may
   * have reached the server, so the id gets a row (no hash) like a reservation.
   * Never throws for an id another row holds already (then that row tracks it).
   */
  reserveIfFree(mapping: string, path: string, assetId: string): void {
    const alone = this.known.alone();
    this.known.counted(mapping, this.sReserveIfFree.run(mapping, path, assetId).changes, alone);
  }

  /**
   * Writes the row with the client-chosen asset id before the first upload, so
   * a retry after a lost response reuses the id. Returns the row as stored: if
   * the path already had an id, that id wins and the caller must use it.
   */
  reserve(mapping: string, path: string, assetId: string): FileRow {
    const alone = this.known.alone();
    let added = 0;
    const row = atomic(this.db, () => {
      added = this.sReserve.run(mapping, path, assetId).changes;
      this.unkeep(mapping, path); // the path is back: no longer "gone locally"
      return this.get(mapping, path)!;
    });
    this.known.counted(mapping, added, alone);
    return row;
  }

  recordSynced(row: FileRow): void {
    const alone = this.known.alone();
    // An upsert does not tell an insert: asked only while the mapping's count is kept.
    const added = this.known.has(row.mapping) && this.sHas.get(row.mapping, row.path) === undefined ? 1 : 0;
    this.shas.add(row.mapping, row.sha256);
    atomic(this.db, () => {
      this.sSynced.run(row);
      this.unkeep(row.mapping, row.path);
    });
    this.known.counted(row.mapping, added, alone);
  }

  /**
   * The local file is gone and policy keeps its asset on the server: the row
   * leaves the files table (so rescans stop reporting it) and is listed as kept.
   */
  forget(mapping: string, path: string, now: number): boolean {
    this.empty.wrote('kept');
    const alone = this.known.alone();
    let removed = 0;
    const done = atomic(this.db, () => {
      if (this.sKeep.run({ mapping, path, now }).changes === 0) return false;
      this.moves++;
      removed = this.sRemove.run(mapping, path).changes;
      return true;
    });
    this.known.counted(mapping, -removed, alone);
    return done;
  }

  /** Assets kept on the server whose local file is gone (deletes: keep), newest first; see KeptRepo for the others. */
  kept(limit = 100): KeptRow[] {
    return this.sKept.all(limit) as KeptRow[];
  }

  /** Per mapping: rows in sync, rows seen missing (held deletes), kept assets. */
  stats(): Map<string, FileStats> {
    const rows = this.sStats.all() as ({ mapping: string } & FileStats)[];
    return new Map(rows.map(({ mapping, ...s }) => [mapping, s]));
  }

  remove(mapping: string, path: string): boolean {
    this.moves++;
    const alone = this.known.alone();
    const removed = this.sRemove.run(mapping, path).changes;
    this.known.counted(mapping, -removed, alone);
    return removed > 0;
  }

  /** Moves the row (and so the asset id) to a new path; false when `from` is unknown. Throws if `to` is taken. */
  rename(mapping: string, from: string, to: string): boolean {
    this.moves++;
    return this.sRename.run(to, mapping, from).changes > 0;
  }

  /**
   * Rows of a mapping seen gone and not yet deleted or forgotten (the live delete guard
   * counts them); with `after`, only those first seen gone later than that (ms).
   */
  countMissing(mapping: string, after = -1): number {
    return this.sCountMissing.get(mapping, after) as number;
  }

  /** When the latest of this mapping's rows still missing was first seen gone (ms), or null. */
  newestMissing(mapping: string): number | null {
    return this.sNewestMissing.get(mapping) as number | null;
  }

  /** Paths of the rows seen gone and not yet deleted or forgotten (the held deletions). */
  missingPaths(mapping: string): string[] {
    return this.sMissingPaths.all(mapping) as string[];
  }

  /** Files back where they were (a share that returned): no longer missing. Returns how many. */
  clearMissing(mapping: string, paths: readonly string[]): number {
    if (paths.length === 0) return 0;
    this.moves++;
    return this.db.transaction(() => paths.reduce((n, p) => n + this.sClearMissing.run(mapping, p).changes, 0)).immediate();
  }

  /** Removes a gone file's row before its asset is deleted; false when a move took the row first. */
  takeForDelete(mapping: string, path: string, assetId: string): boolean {
    this.moves++;
    const alone = this.known.alone();
    const removed = this.sTakeForDelete.run(mapping, path, assetId).changes;
    this.known.counted(mapping, -removed, alone);
    return removed > 0;
  }

  /** rename() for a move in progress: atomically takes the row (false if another job took it first). */
  claimForMove(mapping: string, from: string, to: string): boolean {
    this.moves++;
    return this.sClaimMove.run(to, mapping, from).changes > 0;
  }

  /** A whole folder renamed: every row under `fromDir/` moves under `toDir/`. Returns how many. */
  renamePrefix(mapping: string, fromDir: string, toDir: string): number {
    const from = `${fromDir}/`;
    this.moves++;
    return this.db.transaction(() => this.sRenamePrefix.run({ mapping, from, to: `${toDir}/`, n: from.length }).changes).immediate();
  }

  /** Synced rows with this content, for move detection (a file gone here and new there). */
  findBySha(mapping: string, sha256: string, size: number): FileRow[] {
    if (!this.shas.mayHave(mapping, sha256)) return [];
    return (this.sBySha.all(mapping, sha256, size) as Raw[]).map(toRow);
  }

  /**
   * Up to `limit` synced rows of this size: could a new big file be one of
   * them moved? None means it cannot, so it needs no hash before its upload.
   */
  findBySize(mapping: string, size: number, limit: number): FileRow[] {
    return (this.sBySize.all(mapping, size, limit) as Raw[]).map(toRow);
  }

  /** Keeps the first time a file was seen gone, so a delete guard can wait or count. */
  markMissing(mapping: string, path: string, at: number): void {
    this.moves++;
    this.sMissing.run(at, mapping, path);
  }

  /** The mapping's rows: read from the table only when a write since was one KnownCounts could not follow. */
  count(mapping: string): number {
    return this.known.get(mapping, () => this.sCount.get(mapping) as number);
  }

  private unkeep(mapping: string, path: string): void {
    if (!this.empty.isEmpty('kept')) this.sUnkeep.run(mapping, path);
  }

  /** Runs fn in one transaction (bulk rescan updates). */
  batch<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
