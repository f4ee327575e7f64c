import type Database from 'better-sqlite3';
import type { Clock } from '../lib/clock.js';
import { describeError, type SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { isSqliteConstraint, type Job } from '../state/index.js';
import { emptyTables } from '../state/empty.js';
import type { JobQueue } from '../state/jobs.js';
import { AfterCommitSync, syncForBatches, type SyncWrites } from '../state/walsync.js';

/** A finished job is recorded at most about this long after it ended. */
export const SETTLE_WITHIN_MS = 1000;

/**
 * One job's end as the database gets it: the write, and what to tell (log,
 * events) once it is committed, so nothing is told before it is known.
 */
export interface Settlement {
  write: () => void;
  tell?: () => void;
}

export interface SettleDeps {
  db: Database.Database;
  jobs: Pick<JobQueue, 'fail'>;
  clock: Clock;
  logger: Logger;
  /** After a batch committed (the stamps written with it can go out). */
  committed?: () => void;
  /** How a batch reaches the disk after its commit (default: the WAL's fsync, state/walsync.ts); null: at its commit. */
  sync?: SyncWrites | null;
}

/**
 * Outcomes of finished jobs waiting for the pool's next commit. Every outcome
 * since the last look goes in one transaction with the next claim: at
 * synchronous=FULL each commit is an fsync that stalls the event loop, and a
 * first sync of small files finishes jobs faster than one fsync each allows.
 * An outcome lost in a crash only makes its job run again, which finds the
 * file in sync. The fsync itself runs off the event loop (state/walsync.ts);
 * a claimed job waits for it (durable()) before it acts.
 */
export class Settlements {
  readonly #pending: Settlement[] = [];
  #at = 0;
  // Made once: building a transaction function costs several closures, and a first sync settles thousands.
  readonly #batch: Database.Transaction<(batch: readonly Settlement[], then: () => unknown) => unknown>;
  readonly #unit: Database.Transaction<(writes: ReadonlyArray<() => void>, finish: () => void) => void>;
  readonly #sync: AfterCommitSync | undefined;
  /** Each job's writes in a savepoint of their own: set while a batch a constraint refused is written again. */
  #isolate = false;

  constructor(private readonly deps: SettleDeps) {
    // Most writes of a synced file clear rows of tables that are empty on a first sync: known
    // once per batch, each such DELETE is left out (state/empty.ts).
    const empty = emptyTables(deps.db);
    this.#batch = deps.db.transaction((batch: readonly Settlement[], then: () => unknown) =>
      empty.within(() => {
        for (const settlement of batch) settlement.write();
        return then();
      }),
    );
    this.#unit = deps.db.transaction((writes: ReadonlyArray<() => void>, finish: () => void) => {
      for (const write of writes) write();
      finish();
    });
    const sync = deps.sync === undefined ? syncForBatches(deps.db) : deps.sync;
    this.#sync = sync ? new AfterCommitSync(deps.db, sync) : undefined;
  }

  get waiting(): number {
    return this.#pending.length;
  }

  /** Waited long enough (or the wall clock stepped back, which must not hold outcomes for the jump). */
  overdue(now: number): boolean {
    return this.#pending.length > 0 && (now - this.#at >= SETTLE_WITHIN_MS || now < this.#at);
  }

  /** How long the pool may sleep before the waiting outcomes are overdue. */
  sleepAtMost(now: number, pollMs: number): number {
    return this.#pending.length > 0 ? Math.min(pollMs, Math.max(0, this.#at + SETTLE_WITHIN_MS - now)) : pollMs;
  }

  later(write: () => void, tell?: () => void): void {
    this.#pending.push({ write, tell });
  }

  /** Record now, or, if the database refuses (full disk), with the next batch it takes. */
  now(write: () => void, tell?: () => void): void {
    try {
      write();
    } catch (e) {
      this.#pending.push({ write, tell });
      this.deps.logger.error(
        { code: (e as SyncError).code },
        'cannot record a finished job yet; it is written once the state database takes writes: %s',
        describeError(e),
      );
      return;
    }
    tell?.();
  }

  /** Every waiting outcome, then `then` (the next claim), in one transaction: one fsync for all. */
  writeWith<T>(then: () => T): T {
    const batch = this.#pending.slice();
    this.#at = this.deps.clock.now();
    // Nothing to record: the claim commits on its own, at FULL, and a look that claims nothing
    // (an idle daemon's, every poll) writes nothing and makes no fsync.
    if (batch.length === 0) return then();
    const sync = this.#sync;
    const write = (): T => (sync ? sync.commit(() => this.#batch.immediate(batch, then)) : this.#batch.immediate(batch, then)) as T;
    let result: T;
    try {
      result = write();
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      // Undone whole (as when the disk is full): written again, each job alone, so the refused one fails by itself.
      this.#isolate = true;
      try {
        result = write();
      } finally {
        this.#isolate = false;
      }
    }
    this.#pending.splice(0, batch.length);
    this.deps.committed?.();
    for (const settlement of batch) settlement.tell?.();
    return result;
  }

  /**
   * Undefined when every batch so far is on disk; else a promise for when it
   * is. A job claimed in a batch waits for it before it sends anything: the
   * asset id its claim chose must outlive a power cut first.
   */
  durable(): Promise<void> | undefined {
    return this.#sync?.durable();
  }

  /**
   * One job's deferred writes and its completion. A write refused for this job
   * alone (a constraint) fails the job instead of holding up every other
   * outcome: the batch is undone and written again with each job in a
   * savepoint of its own. Only then, since a savepoint is two statements more
   * per job and a constraint is almost never refused.
   */
  unit(job: Job, writes: ReadonlyArray<() => void>, finish: () => void): () => void {
    const { jobs } = this.deps;
    return () => {
      if (!this.#isolate) {
        try {
          for (const write of writes) write();
          finish();
          return;
        } catch (e) {
          throw isSqliteConstraint(e) ? new Refused(e) : e;
        }
      }
      try {
        this.#unit(writes, finish);
      } catch (e) {
        if (!isSqliteConstraint(e)) throw e; // disk full, busy: the batch waits
        jobs.fail(job, { message: describeError(e), code: 'STATE_CONFLICT', retry: 'retry' });
      }
    };
  }
}

/** A constraint refused a job's write while the batch ran without savepoints. */
class Refused extends Error {
  constructor(cause: unknown) {
    super('a job’s write was refused', { cause });
  }
}
