import Database from 'better-sqlite3';
import { dirname, resolve } from 'node:path';
import { systemClock, type Clock } from '../lib/clock.js';
import { SyncError } from '../lib/errors.js';
import { JobQueue, type QueueOptions } from './jobs.js';
import { FilesRepo } from './files.js';
import { StampsRepo } from './stamps.js';
import { SkippedRepo } from './skipped.js';
import { AnnotationsRepo, SidecarsRepo } from './annotations.js';
import { KeptRepo } from './kept.js';
import { UploadsRepo } from './uploads.js';
import { MetaStore, SqliteFolderCache, type FolderStore } from './folders.js';
import { APPLICATION_ID, SCHEMA_VERSION, migrate } from './migrations.js';
import { stateError } from './errors.js';
import { ensurePrivateDir, privateDatabaseFile } from './private.js';

export { FilesRepo, type FileRow, type FileStats, type KeptRow } from './files.js';
export type { FolderCache, FolderStore, MetaStore } from './folders.js';
export { StampsRepo, type PendingStamp } from './stamps.js';
export { SkippedRepo, type SkippedRow } from './skipped.js';
export { AnnotationsRepo, SidecarsRepo, NO_ANNOTATION, type Annotation, type AnnotationRow } from './annotations.js';
export { KeptRepo, type KeptReason } from './kept.js';
export { UploadsRepo, type UploadRow } from './uploads.js';
export { acquireLock, readLockHolder, type StateLock, type LockHolder } from './lock.js';
export { APPLICATION_ID, SCHEMA_VERSION } from './migrations.js';
export type { Job } from './jobs.js';
export { isSqliteConstraint, isSqliteTrouble, isTransientSqlite, stateError } from './errors.js';

export interface StateOptions {
  clock?: Clock;
  queue?: Partial<QueueOptions>;
  /**
   * Put jobs left `running` by a dead process back in the queue (default true).
   * Only the lock holder may do this: `status` or `retry` run beside a live
   * daemon must pass false, or they would hand its running jobs out again.
   */
  recover?: boolean;
  /** Run PRAGMA quick_check at open (default true). */
  verify?: boolean;
  /** ms to wait for another connection's write lock before SQLITE_BUSY (default 5000). */
  busyTimeoutMs?: number;
}

export interface State {
  readonly file: string;
  readonly db: Database.Database;
  readonly files: FilesRepo;
  readonly folders: FolderStore;
  readonly jobs: JobQueue;
  readonly meta: MetaStore;
  /** Metadata stamps waiting for the next bulk request. */
  readonly stamps: StampsRepo;
  /** Paths never read on purpose, for `status`. */
  readonly skipped: SkippedRepo;
  /** Why kept paths are kept (content still uses the asset). */
  readonly kept: KeptRepo;
  /** The tags and metadata squidex-sync set per asset, and what each file said. */
  readonly annotations: AnnotationsRepo;
  /** Sidecars read as metadata. */
  readonly sidecars: SidecarsRepo;
  /** Resumable (tus) uploads in progress. */
  readonly uploads: UploadsRepo;
  /** PRAGMA integrity_check, foreign keys and the invariants of every table; [] when all is well. */
  check(): string[];
  close(): void;
}

/**
 * quick_check at open turns a damaged file into one clear STATE_CORRUPT at
 * start instead of odd failures mid-run. It reads every page but skips index
 * cross-checks (those are in check()).
 */
function quickCheck(db: Database.Database): void {
  const rows = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
  if (rows.length !== 1 || rows[0] !== 'ok') {
    throw Object.assign(new Error(rows.join('; ')), { code: 'SQLITE_CORRUPT' });
  }
}

/**
 * Pragmas, each for a reason (the figures behind them: docs/benchmarks.md, "The state database's pragmas"):
 * - WAL: readers (`status`) never block the daemon's writer, and a commit is one sequential append.
 * - synchronous=FULL: fsync the WAL on every commit, so a job acknowledged to the watcher survives
 *   power loss too (better-sqlite3 builds default WAL to NORMAL). The pool's batches (claims and
 *   outcomes) commit at NORMAL and fsync the WAL in the thread pool before a claimed job acts
 *   (walsync.ts): the same guarantee without the event loop waiting for the disk.
 * - busy_timeout: a CLI command writing beside the daemon waits instead of failing with SQLITE_BUSY.
 * - foreign_keys: on, so any future reference between tables is enforced.
 * - journal_size_limit: a WAL grown by a 100k-path rescan is truncated after checkpoint.
 * - cache_size 32 MiB (default 2 MiB): the files table and its indexes outgrow the default in a
 *   first sync of a few thousand files; used only as filled. A read through a whole table
 *   (quick_check, a rescan) runs under scanCache instead.
 * - temp_store MEMORY: each job's outcome is a savepoint inside the batch's transaction, and a
 *   savepoint journals the pages it changes; those journals live only as long as a batch.
 */
function applyPragmas(db: Database.Database, busyTimeoutMs: number): void {
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('journal_size_limit = 67108864');
  db.pragma(`cache_size = -${CACHE_KIB}`);
  db.pragma('temp_store = MEMORY');
}

const CACHE_KIB = 32768;
const SCAN_CACHE_KIB = 2048;
/** Reads through a whole table under way on a connection (scans overlap: one rescan per mapping). */
const scans = new WeakMap<Database.Database, number>();

/**
 * Bounds the page cache while a read goes through a whole table (quick_check, a
 * rescan's ordered read, the per-mapping counts): it meets each page once, so a
 * cache cannot speed it up, and the cache would keep every page it read (32 MiB
 * at 100k files) for as long as the process runs. Lowering the size frees the
 * pages over it at once. Returns the undo; the cache is back to its size when
 * the last overlapping scan ends.
 */
export function scanCache(db: Database.Database): () => void {
  // Closed: the read itself will say so, in the caller's way (a rejected rescan, not a throw here).
  if (!db.open) return () => {};
  const n = scans.get(db) ?? 0;
  if (n === 0) db.pragma(`cache_size = -${SCAN_CACHE_KIB}`);
  scans.set(db, n + 1);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    const left = (scans.get(db) ?? 1) - 1;
    scans.set(db, left);
    if (left === 0 && db.open) db.pragma(`cache_size = -${CACHE_KIB}`);
  };
}

/** `read` (synchronous) under scanCache. */
export function scanned<T>(db: Database.Database, read: () => T): T {
  const done = scanCache(db);
  try {
    return read();
  } finally {
    done();
  }
}

/** Opens (creating if needed) the state database, migrates it and recovers the queue. */
export function openState(file: string, opts: StateOptions = {}): State {
  const path = resolve(file);
  const clock = opts.clock ?? systemClock;
  try {
    ensurePrivateDir(dirname(path));
  } catch (e) {
    throw new SyncError('STATE_IO', `cannot create the folder for ${path}: ${(e as Error).message}`, { cause: e });
  }
  let db: Database.Database;
  try {
    privateDatabaseFile(path);
    db = new Database(path);
  } catch (e) {
    throw new SyncError('STATE_IO', `cannot open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    applyPragmas(db, opts.busyTimeoutMs ?? 5000);
    if (opts.verify ?? true) scanned(db, () => quickCheck(db));
    migrate(db, path);
    const state = makeState(path, db, clock, new JobQueue(db, clock, opts.queue, path));
    if (opts.recover ?? true) recover(state);
    return state;
  } catch (e) {
    db.close();
    throw stateError(e, path, 'opening');
  }
}

/**
 * The previous process died: its running jobs go back to the queue. Each one's asset
 * hint becomes a files row first (no hash), so a file deleted or renamed before the
 * retry still leads to an asset its upload may have made (forgotten into `kept`, or replaced).
 */
function recover(state: State): void {
  for (const h of state.jobs.runningHints()) state.files.reserveIfFree(h.mapping, h.path, h.assetId);
  state.jobs.recover();
}

function makeState(file: string, db: Database.Database, clock: Clock, jobs: JobQueue): State {
  return {
    file,
    db,
    files: new FilesRepo(db),
    folders: new SqliteFolderCache(db, clock),
    jobs,
    meta: new MetaStore(db),
    stamps: new StampsRepo(db),
    skipped: new SkippedRepo(db),
    kept: new KeptRepo(db),
    annotations: new AnnotationsRepo(db),
    sidecars: new SidecarsRepo(db),
    uploads: new UploadsRepo(db),
    check: () => checkState(db, jobs),
    close: () => {
      if (db.open) db.close();
    },
  };
}

function checkState(db: Database.Database, jobs: JobQueue): string[] {
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    const problems = integrity.length === 1 && integrity[0] === 'ok' ? [] : integrity.map((m) => `integrity: ${m}`);
    for (const r of db.pragma('foreign_key_check') as { table: string; rowid: number }[]) {
      problems.push(`foreign key: ${r.table} row ${r.rowid}`);
    }
    const version = db.pragma('user_version', { simple: true });
    if (version !== SCHEMA_VERSION) problems.push(`schema: user_version ${version}, expected ${SCHEMA_VERSION}`);
    if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID) problems.push('schema: application_id is not ours');
    const dupAssets = db.prepare(`SELECT asset_id FROM files NOT INDEXED GROUP BY asset_id HAVING count(*) > 1 LIMIT 20`).pluck().all();
    for (const id of dupAssets) problems.push(`files: asset id ${id} belongs to more than one path`);
    const keptAndLive = db
      .prepare(`SELECT k.mapping || ':' || k.path FROM kept k JOIN files f USING (mapping, path) LIMIT 20`)
      .pluck()
      .all();
    for (const p of keptAndLive) problems.push(`files: listed as kept but also live: ${p}`);
    return [...problems, ...jobs.check()];
  } catch (e) {
    return [`check failed: ${(e as Error).message}`];
  }
}
