import { randomUUID } from 'node:crypto';
import PQueue from 'p-queue';
import { SyncError, describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Job } from '../state/index.js';
import type { FolderResolver } from '../squidex/index.js';
import type { JobContext, Outcome, SyncEvents } from './context.js';
import type { MappingRuntime } from './mapping.js';
import { Stamper, type StamperDeps } from './stamps.js';
import { ClaimAhead } from './ahead.js';
import { Settlements } from './settle.js';
import { JobEnds } from './jobends.js';
import type { SyncWrites } from '../state/walsync.js';
import type { Availability } from '../squidex/availability.js';
import { timerDelay } from '../lib/timers.js';

export interface PoolOptions {
  /** Jobs run at once; a function is read at every look at the queue, so the number can change at run time. */
  concurrency: number | (() => number);
  /** Most jobs claimed ahead of the worker slots (default 256; see ahead.ts). */
  maxAhead?: number;
  /** Longest sleep between looks at the queue; picks up jobs another process (the CLI) re-queued. */
  pollMs?: number;
  /** Mappings whose uploads are paused (`squidex-sync pause`). */
  pausedMappings?: () => string[];
  /** Whether Squidex is there (src/squidex/availability.ts): while it is away, no job starts and none spends an attempt. */
  availability?: Pick<Availability, 'blocked' | 'judge' | 'answered' | 'outage'>;
}

/** What the pool gives each job beyond the runtime's context. */
export type JobRun = Pick<JobContext, 'defer' | 'stamper' | 'stopping'>;

/** What the pool uses: the state, the client for stamps, and the one thing it runs per job. */
export interface PoolDeps extends StamperDeps {
  events?: SyncEvents;
  /** To start resolving the asset folders of claimed jobs (ahead.ts). */
  mappings?: ReadonlyMap<string, MappingRuntime>;
  resolver?: Pick<FolderResolver, 'resolve'>;
  /** How the pool's batches reach the disk (settle.ts); absent: the WAL's fsync after each commit. */
  syncWrites?: SyncWrites | null;
  /** Runs one job: reconcile() in the daemon. */
  run(job: Job, run: JobRun, signal: AbortSignal): Promise<Outcome>;
}

/**
 * Claims due jobs from the SQLite queue and runs up to `concurrency` of them
 * at once on a p-queue. Sleeps until the next job is due, a slot frees, or
 * someone calls wake().
 */
export class WorkerPool {
  readonly #queue: PQueue;
  readonly #token = randomUUID();
  readonly #inFlight = new Set<number>();
  /** Aborted when the stop's deadline passes: every job still running goes back to the queue. One for all jobs, not a controller each (they showed in profiles). */
  readonly #cut = new AbortController();
  /** Aborted at stop(): big uploads finish the chunk in flight and keep the rest for the next start. */
  readonly #windDown = new AbortController();
  /** Claimed, not started yet: their leases are renewed like running ones, and a stop gives them back. */
  readonly #waiting = new Map<number, Job>();
  readonly #log: Logger;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wakeUp: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];
  /** Outcomes not recorded yet: they go with the next claim (see #run), or wait out a database that refuses writes. */
  readonly #outcomes: Settlements;
  #troubleCode: string | undefined;
  readonly #ahead: ClaimAhead;
  readonly #stamper: Stamper;
  readonly #ends: JobEnds;

  constructor(
    private readonly deps: PoolDeps,
    private readonly opts: PoolOptions,
  ) {
    this.#ahead = new ClaimAhead(
      { jobs: deps.state.jobs, files: deps.state.files, clock: deps.clock, mappings: deps.mappings, resolver: deps.resolver },
      { token: this.#token, concurrency: opts.concurrency, maxAhead: opts.maxAhead ?? 256, pausedMappings: opts.pausedMappings },
    );
    this.#queue = new PQueue({ concurrency: this.#ahead.concurrency });
    this.#log = deps.logger.child({ component: 'worker' });
    // A drain comes after the last upload: as many bulk requests at once as worker slots, up to 4.
    this.#stamper = new Stamper(deps, { drainLanes: () => Math.min(4, this.#ahead.concurrency) });
    this.#outcomes = new Settlements({
      db: deps.state.db,
      jobs: deps.state.jobs,
      clock: deps.clock,
      logger: this.#log,
      committed: () => this.#stamper.notify(), // stamps written with these outcomes
      sync: deps.syncWrites,
    });
    this.#ends = new JobEnds({
      state: deps.state,
      outcomes: this.#outcomes,
      availability: opts.availability,
      events: deps.events,
      serverPaused: () => this.#ahead.serverPaused(), // the jobs claimed ahead go back instead of asking again
      logger: this.#log,
    });
  }

  start(): void {
    this.#stamper.notify(); // stamps a previous run left behind
    this.#loop ??= this.#run().catch((e) => {
      // A broken database is the one thing the pool cannot work around.
      this.#log.fatal({ err: e }, 'worker loop stopped: %s', describeError(e));
      throw e;
    });
  }

  /** Something was enqueued: look now instead of at the next poll. */
  wake(): void {
    this.#wakeUp?.();
  }

  /** Resolves once nothing is queued or running, and the stamps are out or refused (used by `once`). */
  async idle(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      this.wake();
    });
    await this.#stamper.drain();
  }

  /**
   * Stop taking jobs, give in-flight ones until the deadline, then abort
   * them; aborted jobs go back to the queue untouched.
   */
  async stop(deadlineMs: number): Promise<void> {
    this.#stopping = true;
    this.#windDown.abort();
    this.wake();
    await this.#loop?.catch(() => undefined);
    this.#giveBackWaiting();
    const drained = this.#queue.onIdle().then(() => true);
    const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), timerDelay(deadlineMs)).unref());
    if (!(await Promise.race([drained, timedOut]))) {
      this.#log.warn({ jobs: this.#inFlight.size }, 'shutdown deadline reached; aborting in-flight uploads, they stay queued');
      this.#cut.abort();
      await this.#queue.onIdle();
    }
    try {
      this.#outcomes.writeWith(() => undefined); // what finished during the drain
    } catch (e) {
      this.#log.error(
        { code: (e as SyncError).code },
        'cannot record finished jobs at shutdown; they run again next time: %s',
        describeError(e),
      );
    }
    // Stamps not out by the deadline stay in the database for the next start.
    const sent = this.#stamper.drain().catch(() => false);
    await Promise.race([sent, new Promise((r) => setTimeout(r, Math.min(5000, Math.max(1000, deadlineMs))).unref())]);
    this.#stamper.stop();
  }

  async #run(): Promise<void> {
    const jobs = this.deps.state.jobs;
    const pollMs = this.opts.pollMs ?? 1000;
    let lastSweep = 0;
    while (!this.#stopping) {
      const now = this.deps.clock.now();
      if (now - lastSweep > 30_000) {
        try {
          // Our own jobs still in flight keep their lease: only a job nobody runs any more is swept.
          jobs.renewLeases([...this.#inFlight.keys(), ...this.#waiting.keys()]);
          jobs.sweepLeases();
          lastSweep = now;
        } catch (e) {
          await this.#stateTrouble(e);
          continue;
        }
      }
      const slots = this.#ahead.concurrency;
      if (this.#queue.concurrency !== slots) this.#queue.concurrency = slots;
      const depth = this.#ahead.depth(now);
      const free = depth - this.#queue.pending - this.#queue.size;
      // Finished jobs are recorded with the next claim, as soon as nothing is left waiting
      // (`once` reads the queue for its end), or once they have waited a second (long
      // uploads in every slot can keep the next claim minutes away, and a crash meanwhile
      // would send their files again): not one commit per finished job.
      const worth = this.#ahead.worthClaiming(free, depth, this.#queue.size);
      const stale = this.#outcomes.overdue(now);
      let next: number | null;
      // Squidex away: nothing starts; the jobs keep their place and their attempts (woken when it answers).
      const away = this.opts.availability?.blocked() ?? false;
      try {
        const excludeMappings = this.opts.pausedMappings?.() ?? [];
        next = jobs.nextRunAt({ excludeMappings });
        const due = worth && next !== null && next <= now && !away;
        const claimed =
          worth || stale || this.#queue.size === 0
            ? this.#outcomes.writeWith(() => (due ? this.#ahead.claim(free, excludeMappings) : []))
            : [];
        for (const job of claimed) {
          this.#waiting.set(job.id, job);
          void this.#queue.add(() => this.#runJob(job));
        }
        if (claimed.length > 0) continue;
        if (this.#inFlight.size === 0 && this.#queue.size === 0 && this.#idleWaiters.length > 0 && this.#nothingLeft()) {
          for (const resolve of this.#idleWaiters.splice(0)) resolve();
        }
        this.#troubleCode = undefined;
      } catch (e) {
        await this.#stateTrouble(e);
        continue;
      }
      const idle = this.#outcomes.sleepAtMost(now, pollMs);
      const wait = !worth || next === null || away ? idle : Math.min(pollMs, Math.max(0, next - now));
      await this.#sleep(Math.max(wait, 5));
    }
  }

  #nothingLeft(): boolean {
    const c = this.deps.state.jobs.counts();
    if (c.running > 0) return false;
    if (c.queued === 0) return true;
    // Queued jobs of paused mappings do not keep `once` waiting.
    const paused = this.opts.pausedMappings?.() ?? [];
    return paused.length > 0 && this.deps.state.jobs.countQueued({ excludeMappings: paused }) === 0;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timerDelay(ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeUp = done;
    });
  }

  /** The state database refused a read or write: say so once per cause, wait, try again. */
  async #stateTrouble(e: unknown): Promise<void> {
    const code = e instanceof SyncError ? e.code : 'STATE_ERROR';
    if (e instanceof SyncError && e.code === 'STATE_CORRUPT') throw e;
    if (this.#troubleCode !== code) {
      this.#troubleCode = code;
      this.#log.error({ code }, 'the state database refused work; uploads wait until it recovers: %s', describeError(e));
    }
    await this.#sleep(2000);
  }

  /** Claimed jobs that never started go back to the queue untouched (attempt refunded). */
  #giveBackWaiting(): void {
    this.#queue.clear();
    const jobs = this.deps.state.jobs;
    for (const job of this.#waiting.values()) this.#outcomes.later(() => void jobs.release(job));
    this.#waiting.clear();
  }

  async #runJob(job: Job): Promise<void> {
    if (!this.#waiting.delete(job.id)) return; // given back by stop()
    const jobs = this.deps.state.jobs;
    // Claimed ahead before Squidex went away: back untouched (a probe still deciding is no reason).
    if (this.#ahead.pausedSinceClaim(job) || this.opts.availability?.outage) {
      this.#outcomes.later(() => void jobs.release(job));
      this.#wakeIfLow();
      return;
    }
    this.#inFlight.add(job.id);
    const writes: Array<() => void> = [];
    const run: JobRun = { defer: (write) => writes.push(write), stamper: this.#stamper, stopping: this.#windDown.signal };
    try {
      // Its claim (and the asset id it chose) on disk before anything is sent.
      const durable = this.#outcomes.durable();
      if (durable) await durable;
      // The job's synced row and its completion are written with the next look
      // at the queue, together with whatever else finished meanwhile.
      const outcome = await this.deps.run(job, run, this.#cut.signal);
      const rerun = outcome.requeueAfterMs === undefined ? undefined : { rerunAfterMs: outcome.requeueAfterMs };
      this.#outcomes.later(this.#outcomes.unit(job, writes, () => jobs.complete(job, rerun)));
      this.opts.availability?.answered();
      this.deps.events?.action?.(outcome.action, job.mapping, job.path);
      this.#ends.logOutcome(job, outcome);
    } catch (e) {
      // Server changes recorded before the failure still happened: keep them.
      if (writes.length > 0) this.#outcomes.later(this.#outcomes.unit(job, writes, () => undefined));
      await this.#ends.failed(job, e, this.#cut.signal.aborted);
    } finally {
      this.#inFlight.delete(job.id);
      this.#ahead.finished();
      this.#wakeIfLow();
    }
  }

  /**
   * Look at the queue again only when the jobs claimed ahead run low, or when
   * the last one ended (`once` waits for that): each look is a commit.
   */
  #wakeIfLow(): void {
    if (this.#queue.size < this.#ahead.concurrency || this.#inFlight.size === 0) this.wake();
  }
}
