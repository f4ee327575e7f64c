import type Database from 'better-sqlite3';
import type { Clock } from '../lib/clock.js';
import type { Retry } from '../lib/errors.js';
import { backoffDelay, resolveQueueOptions, type QueueOptions } from './options.js';
import { QueueReports, type FailedJob, type JobCounts, type PendingJob, type PathRef } from './reports.js';

export { DEFAULT_QUEUE_OPTIONS, backoffDelay, type QueueOptions } from './options.js';
export type { FailedJob, JobCounts, PendingJob, PathRef } from './reports.js';

/** A claimed job: "reconcile this path". `token` names this claim and no other. */
export interface Job {
  id: number;
  mapping: string;
  path: string;
  generation: number;
  attempts: number;
  token: string;
  reason: string | null;
}

export interface EnqueueItem {
  mapping: string;
  path: string;
  reason?: string | null;
}

export interface FailInfo {
  message: string;
  code?: string;
  retry: Retry;
  retryAfterMs?: number;
}

export type FailOutcome = 'retry' | 'failed' | 'stale';

const PAUSE_KEY = 'queue.pausedUntil';

/**
 * A rescan re-finds every path that never synced, so letting it revive a
 * failed job would undo the crash-loop guard on every start. Any other event
 * means the file was touched, which is worth a fresh set of attempts.
 */
const NON_REVIVING_REASONS = new Set(['rescan']);

/**
 * The durable job queue: one row per (mapping, path) in the state database.
 * Every time comes from the injected clock and is bound as a parameter; no SQL
 * here reads the wall clock. Writes that read-then-write run in IMMEDIATE
 * transactions so a second connection can never interleave.
 */
export class JobQueue {
  readonly options: QueueOptions;
  private readonly reports: QueueReports;
  private readonly sEnqueue;
  private readonly sClaim;
  private readonly sDone;
  private readonly sRequeueAfterRun;
  private readonly sRunning;
  private readonly sRetry;
  private readonly sFail;
  private readonly sRelease;
  private readonly sNextRun;
  private readonly sClampRunAt;
  private readonly sMetaGet;
  private readonly sMetaSet;
  private readonly sMetaDel;
  private readonly txEnqueueMany;
  private readonly txClaim;
  private readonly txComplete;
  private readonly txCompleteMany;
  private readonly txFail;

  constructor(private readonly db: Database.Database, private readonly clock: Clock, opts: Partial<QueueOptions> = {}) {
    this.options = resolveQueueOptions(opts);
    this.reports = new QueueReports(db);
    // SQLite evaluates every SET expression against the row as it was before
    // the update, so the CASEs below all see the old state.
    this.sEnqueue = db.prepare(`
      INSERT INTO jobs (mapping, path, state, reason, generation, first_event_at, run_at, created_at, updated_at)
      VALUES (@mapping, @path, 'queued', @reason, 1, @now, @due, @now, @now)
      ON CONFLICT (mapping, path) DO UPDATE SET
        generation = generation + 1,
        reason = excluded.reason,
        updated_at = @now,
        first_event_at = CASE WHEN state = 'failed' THEN @now ELSE coalesce(first_event_at, @now) END,
        run_at = CASE
          WHEN state = 'failed' THEN @due
          -- a job in back-off keeps its delay: an event must not make us hammer a failing server
          WHEN state = 'queued' AND attempts > 0 THEN max(run_at, min(@due, coalesce(first_event_at, @now) + @maxWait))
          ELSE min(@due, coalesce(first_event_at, @now) + @maxWait) END,
        attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END,
        failed_at = CASE WHEN state = 'failed' THEN NULL ELSE failed_at END,
        state = CASE WHEN state = 'failed' THEN 'queued' ELSE state END
      WHERE state <> 'failed' OR @revive = 1`);
    this.sClaim = db.prepare(`
      UPDATE jobs SET state = 'running', claims = claims + 1, token = @token || ':' || (claims + 1),
        lease_until = @now + @lease, attempts = attempts + 1, claimed_gen = generation,
        first_event_at = NULL, updated_at = @now
      WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= @now ORDER BY run_at, id LIMIT @limit)
      RETURNING id, mapping, path, generation, attempts, token, reason`);
    this.sDone = db.prepare(`DELETE FROM jobs WHERE id = ? AND token = ? AND state = 'running' AND generation = claimed_gen`);
    // An event arrived during the run: run exactly once more, at the time those events asked for.
    this.sRequeueAfterRun = db.prepare(`
      UPDATE jobs SET state = 'queued', token = NULL, lease_until = NULL, claimed_gen = NULL, attempts = 0,
        last_error = NULL, last_code = NULL, updated_at = @now
      WHERE id = @id AND token = @token AND state = 'running'`);
    this.sRunning = db.prepare(`SELECT attempts, generation, claimed_gen AS claimedGen FROM jobs WHERE id = ? AND token = ? AND state = 'running'`);
    this.sRetry = db.prepare(`
      UPDATE jobs SET state = 'queued', token = NULL, lease_until = NULL, claimed_gen = NULL,
        attempts = @attempts, run_at = @runAt, last_error = @message, last_code = @code, updated_at = @now
      WHERE id = @id`);
    this.sFail = db.prepare(`
      UPDATE jobs SET state = 'failed', token = NULL, lease_until = NULL, claimed_gen = NULL,
        last_error = @message, last_code = @code, failed_at = @now, updated_at = @now
      WHERE id = @id`);
    // Frees running rows: all of them at open (their process is gone), or only
    // expired leases. A row whose attempts are spent fails instead, so a path
    // that kills the process every time cannot crash-loop the daemon.
    this.sRelease = db.prepare(`
      UPDATE jobs SET
        state = CASE WHEN attempts >= @max THEN 'failed' ELSE 'queued' END,
        failed_at = CASE WHEN attempts >= @max THEN @now ELSE NULL END,
        last_error = CASE WHEN attempts >= @max THEN @spent || ' (' || attempts || ' attempts)' ELSE @message END,
        last_code = @code,
        token = NULL, lease_until = NULL, claimed_gen = NULL, run_at = min(run_at, @now), updated_at = @now
      WHERE state = 'running' AND (@all = 1 OR lease_until <= @now)`);
    this.sNextRun = db.prepare(`SELECT min(run_at) FROM jobs WHERE state = 'queued'`).pluck();
    // After the clock jumped back, times stored from the "future" would strand jobs.
    this.sClampRunAt = db.prepare(`UPDATE jobs SET run_at = @limit WHERE state = 'queued' AND run_at > @limit`);
    this.sMetaGet = db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck();
    this.sMetaSet = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.sMetaDel = db.prepare(`DELETE FROM meta WHERE key = ?`);

    this.txEnqueueMany = db.transaction((items: readonly EnqueueItem[], now: number) => {
      for (const it of items) this.enqueueRow(it, now);
    });
    this.txClaim = db.transaction((token: string, limit: number, now: number) =>
      this.sClaim.all({ token, limit, now, lease: this.options.leaseMs }) as Job[],
    );
    this.txComplete = db.transaction((job: Job, now: number) => this.completeRow(job, now));
    this.txCompleteMany = db.transaction((jobs: readonly Job[], now: number) => jobs.map((j) => this.completeRow(j, now)));
    this.txFail = db.transaction((job: Job, info: FailInfo, now: number) => this.failRow(job, info, now));
  }

  /** Records an event for a path: inserts a job or coalesces into the existing one. */
  enqueue(mapping: string, path: string, reason: string | null = null): void {
    this.enqueueRow({ mapping, path, reason }, this.clock.now());
  }

  /** Many events in one transaction (one fsync): what a rescan or a watcher flush uses. */
  enqueueMany(items: readonly EnqueueItem[]): void {
    if (items.length > 0) this.txEnqueueMany.immediate(items, this.clock.now());
  }

  /** Claims up to `limit` due jobs. `token` names the worker; each job gets `token:n`, unique per claim. */
  claim(token: string, limit = 1): Job[] {
    const now = this.clock.now();
    if (now < this.pausedUntil() || limit < 1) return [];
    return this.txClaim.immediate(token, limit, now);
  }

  /**
   * Finishes a claim. True when this token still held the job: the row is
   * deleted, or queued once more if events arrived while it ran. False (stale)
   * when the lease was lost and someone else owns the job now.
   */
  complete(job: Job): boolean {
    return this.txComplete.immediate(job, this.clock.now());
  }

  /** complete() for a batch in one transaction; one result per job. */
  completeMany(jobs: readonly Job[]): boolean[] {
    return jobs.length === 0 ? [] : this.txCompleteMany.immediate(jobs, this.clock.now());
  }

  /** Records a failed run; see FailInfo.retry for what each verdict does. */
  fail(job: Job, info: FailInfo): FailOutcome {
    return this.txFail.immediate(job, info, this.clock.now());
  }

  /** Holds every job until `untilMs` (server-wide 429/503). Never shortens a pause already set. */
  pauseAll(untilMs: number): void {
    if (untilMs > this.pausedUntil()) this.sMetaSet.run(PAUSE_KEY, String(Math.round(untilMs)));
  }

  resumeAll(): void {
    this.sMetaDel.run(PAUSE_KEY);
  }

  /** Epoch ms until which claims return nothing; 0 when not paused. */
  pausedUntil(): number {
    const v = this.sMetaGet.get(PAUSE_KEY) as string | undefined;
    return v === undefined ? 0 : Number(v);
  }

  /** When the next job becomes claimable (the pool sleeps until then); null when nothing is queued. */
  nextRunAt(): number | null {
    const t = this.sNextRun.get() as number | null;
    return t === null ? null : Math.max(t, this.pausedUntil());
  }

  /** Frees jobs whose lease expired (a hung worker). Returns how many. */
  sweepLeases(): number {
    return this.release(false, 'LEASE_EXPIRED', 'lease expired while running (worker hung?)');
  }

  /**
   * Startup recovery: the previous process died, so every `running` row is
   * orphaned. Only call this while holding the single-instance lock.
   */
  recover(): number {
    const now = this.clock.now();
    const limit = now + Math.max(this.options.backoffMaxMs, this.options.maxWaitMs, this.options.debounceMs);
    this.sClampRunAt.run({ limit });
    if (this.pausedUntil() > now + this.options.backoffMaxMs) this.sMetaSet.run(PAUSE_KEY, String(now + this.options.backoffMaxMs));
    return this.release(true, 'CRASHED', 'the daemon stopped while running this job');
  }

  counts(): JobCounts {
    return this.reports.counts(this.clock.now());
  }

  pending(limit = 100): PendingJob[] {
    return this.reports.pending(limit);
  }

  failed(limit = 100): FailedJob[] {
    return this.reports.failed(limit);
  }

  /** Failed jobs back to queued with fresh attempts; all of them, or only the given paths. */
  requeueFailed(paths?: readonly PathRef[]): number {
    return this.reports.requeueFailed(this.clock.now(), paths);
  }

  /** Queue invariants; [] when all hold. */
  check(): string[] {
    return this.reports.check();
  }

  private enqueueRow(it: EnqueueItem, now: number): void {
    const reason = it.reason ?? null;
    this.sEnqueue.run({
      mapping: it.mapping, path: it.path, reason, now,
      due: now + this.options.debounceMs, maxWait: this.options.maxWaitMs,
      revive: reason !== null && NON_REVIVING_REASONS.has(reason) ? 0 : 1,
    });
  }

  private completeRow(job: Job, now: number): boolean {
    if (this.sDone.run(job.id, job.token).changes > 0) return true;
    return this.sRequeueAfterRun.run({ id: job.id, token: job.token, now }).changes > 0;
  }

  private failRow(job: Job, info: FailInfo, now: number): FailOutcome {
    const row = this.sRunning.get(job.id, job.token) as { attempts: number; generation: number; claimedGen: number } | undefined;
    if (!row) return 'stale';
    const message = info.message;
    const code = info.code ?? null;
    if (info.retry === 'pause') {
      // The server is overloaded, not this file: the attempt is given back.
      const until = now + (info.retryAfterMs ?? this.options.defaultPauseMs);
      this.pauseAll(until);
      this.sRetry.run({ id: job.id, attempts: Math.max(row.attempts - 1, 0), runAt: until, message, code, now });
      return 'retry';
    }
    const changedDuringRun = row.generation !== row.claimedGen;
    if (info.retry === 'never' && !changedDuringRun) {
      this.sFail.run({ id: job.id, message, code, now });
      return 'failed';
    }
    if (info.retry === 'retry' && row.attempts >= this.options.maxAttempts) {
      this.sFail.run({ id: job.id, message, code, now });
      return 'failed';
    }
    // A permanent error for content that has since changed gets one more look, without delay.
    const delay = info.retry === 'never' ? 0 : Math.max(backoffDelay(row.attempts, this.options), info.retryAfterMs ?? 0);
    this.sRetry.run({ id: job.id, attempts: row.attempts, runAt: now + delay, message, code, now });
    return 'retry';
  }

  private release(all: boolean, code: string, message: string): number {
    return this.db.transaction(() =>
      this.sRelease.run({
        all: all ? 1 : 0, now: this.clock.now(), max: this.options.maxAttempts, code, message,
        spent: `${message}; attempts spent, giving up`,
      }).changes,
    ).immediate();
  }
}
