import type Database from 'better-sqlite3';
import { open } from 'node:fs/promises';
import { SyncError } from '../lib/errors.js';
import { withoutFsync } from './relaxed.js';

/** Makes every write so far of one database file durable on disk. */
export type SyncWrites = () => Promise<void>;

/**
 * An fsync of the database's WAL through libuv's thread pool. fsync acts on
 * the file, not the descriptor, so a descriptor of our own covers SQLite's
 * writes; it is opened each time because SQLite may remove the WAL and make a
 * new one. No WAL: nothing is waiting in one (a checkpoint synced it into the
 * database file, or it never was written). Only the WAL is opened here:
 * closing a descriptor drops every POSIX lock the process holds on that file,
 * and SQLite locks the database file and the -shm file, never the WAL.
 */
export function walFsync(dbFile: string): SyncWrites {
  const wal = `${dbFile}-wal`;
  return async () => {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(wal, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
}

/**
 * How the pool's batches reach the disk: by SQLite at each commit, or by
 * walFsync after it. Not on Windows, where a descriptor opened for reading
 * cannot be flushed (FlushFileBuffers wants write access).
 */
export function syncForBatches(db: Database.Database): SyncWrites | undefined {
  if (process.platform === 'win32' || db.memory || db.pragma('journal_mode', { simple: true }) !== 'wal') return undefined;
  return walFsync(db.name);
}

/**
 * Commits whose fsync runs off the event loop. A commit at synchronous=FULL
 * holds the event loop for its fsync; the pool's batches (outcomes and the next
 * claim) commit at NORMAL instead, which is atomic and survives a crash of the
 * process, and the WAL's fsync follows in the thread pool. What must not be
 * lost in a power cut before a step is taken waits for durable() first: a
 * claimed job's asset id (an upload under an id that a power cut forgot would
 * be made again under another: a duplicate asset).
 */
export class AfterCommitSync {
  #committed = 0;
  #synced = 0;
  #running = false;
  #waiters: Array<{ upTo: number; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(
    private readonly db: Database.Database,
    private readonly sync: SyncWrites,
  ) {}

  /** Runs `write` (its own transaction) without an fsync at commit; the fsync follows. */
  commit<T>(write: () => T): T {
    const result = withoutFsync(this.db, write);
    this.#committed++;
    this.#start();
    return result;
  }

  /** Undefined when every commit so far is on disk; else when it is (rejects if the fsync failed). */
  durable(): Promise<void> | undefined {
    if (this.#synced >= this.#committed) return undefined;
    const upTo = this.#committed;
    return new Promise((resolve, reject) => this.#waiters.push({ upTo, resolve, reject }));
  }

  #start(): void {
    if (this.#running) return; // the next one starts when this one ends: one fsync covers many commits
    this.#running = true;
    const upTo = this.#committed;
    this.sync().then(
      () => {
        this.#synced = upTo;
        this.#end(upTo, undefined);
      },
      (e: unknown) =>
        this.#end(
          upTo,
          new SyncError('STATE_IO', `Cannot write the state database's changes to disk: ${(e as Error).message}`, {
            cause: e,
            retry: 'retry',
          }),
        ),
    );
  }

  #end(upTo: number, failed: Error | undefined): void {
    this.#running = false;
    const covered = this.#waiters.filter((w) => w.upTo <= upTo);
    this.#waiters = this.#waiters.filter((w) => w.upTo > upTo);
    for (const w of covered) failed ? w.reject(failed) : w.resolve();
    if (this.#waiters.length > 0 || (!failed && this.#committed > this.#synced)) this.#start();
  }
}
