import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Clock } from '../lib/clock.js';
import type { SyncErrorCode } from '../lib/errors.js';
import { backoffDelay, resolveQueueOptions, type QueueOptions } from './jobs-options.js';
import * as SQL from './jobs-sql.js';
import { stateError } from './errors.js';
import type { FailInfo, FailOutcome, Job, MappingFilter } from './jobs-types.js';
import type { EnqueueItem } from './enqueue-buffer.js';
import { QueuePause } from './jobs-pause.js';
import { QueueReports, type FailedJob, type JobCounts, type PendingJob, type PathRef } from './jobs-reports.js';

export { DEFAULT_QUEUE_OPTIONS, backoffDelay, type QueueOptions } from './jobs-options.js';
export type { FailedJob, JobCounts, PendingJob, PathRef } from './jobs-reports.js';
export type { FailInfo, FailOutcome, Job, MappingFilter } from './jobs-types.js';
export { createEnqueueBuffer, type EnqueueBuffer, type EnqueueBufferOptions, type EnqueueItem } from './enqueue-buffer.js';

/**
 * A rescan re-finds every path that never synced, so letting it revive a
 * failed job would undo the crash-loop guard on every start. Any other event
 * means the file was touched, which is worth a fresh set of attempts.
 */
const NON_REVIVING_REASONS = new Set(['rescan', 'sidecar', 'referenced', 'annotate']);

/**
 * The durable job queue: one row per (mapping, path) in the state database.
 * Every time comes from the injected clock and is bound as a parameter; no SQL
 * here reads the wall clock. Writes that read-then-write run in IMMEDIATE
 * transactions so a second connection can never interleave.
 */
export class JobQueue {
  readonly options: QueueOptions;
  private readonly pause: QueuePause;
  private readonly reports: QueueReports;
  private readonly sEnqueue;
  private readonly sClaim;
  private readonly sDone;
  private readonly sRequeueAfterRun;
  private readonly sRunning;
  private readonly sRerun;
  private readonly sGiveBack;
  private readonly sRetry;
  private readonly sFail;
  private readonly sRevive;
  private readonly sRelease;
  private readonly sRenew;
  private readonly sNextRun;
  private readonly sClampRunAt;
  private readonly sRunningHints;
  private readonly txEnqueueMany;
  private readonly txClaim;
  private readonly txComplete;
  private readonly txCompleteMany;
  private readonly txFail;

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
    opts: Partial<QueueOptions> = {},
    private readonly file = 'the state database',
  ) {
    this.options = resolveQueueOptions(opts);
    this.reports = new QueueReports(db);
    this.pause = new QueuePause(db, this.options);
    this.sEnqueue = db.prepare(SQL.enqueue);
    // What the claim calls for a job's first asset id (jobs-sql.ts).
    db.function('new_asset_id', { deterministic: false }, () => randomUUID());
    this.sClaim = db.prepare(SQL.claim);
    this.sDone = db.prepare(`DELETE FROM jobs WHERE id = ? AND token = ? AND state = 'running' AND generation = claimed_gen`);
    this.sRequeueAfterRun = db.prepare(SQL.requeueAfterRun);
    this.sRerun = db.prepare(SQL.rerun);
    this.sGiveBack = db.prepare(SQL.giveBack);
    this.sRunning = db.prepare(
      `SELECT attempts, generation, claimed_gen AS claimedGen FROM jobs WHERE id = ? AND token = ? AND state = 'running'`,
    );
    this.sRetry = db.prepare(SQL.retry);
    this.sFail = db.prepare(SQL.fail);
    this.sRevive = db.prepare(SQL.reviveLegacy);
    this.sRelease = db.prepare(SQL.releaseRunning);
    this.sRenew = db.prepare(`UPDATE jobs SET lease_until = ? WHERE id = ? AND state = 'running'`);
    this.sNextRun = db
      .prepare(`SELECT min(run_at) FROM jobs WHERE state = 'queued' AND mapping NOT IN (SELECT value FROM json_each(?))`)
      .pluck();
    this.sRunningHints = db.prepare(
      `SELECT mapping, path, asset_hint AS assetId FROM jobs WHERE state = 'running' AND asset_hint IS NOT NULL`,
    );
    // After the clock jumped back, times stored from the "future" would strand jobs.
    this.sClampRunAt = db.prepare(`UPDATE jobs SET run_at = @limit WHERE state = 'queued' AND run_at > @limit`);

    this.txEnqueueMany = db.transaction((items: readonly EnqueueItem[], now: number) => {
      for (const it of items) this.enqueueRow(it, now);
    });
    this.txClaim = db.transaction((token: string, limit: number, now: number, exclude: string) =>
      this.claimRows(token, limit, now, exclude),
    );
    this.txComplete = db.transaction((job: Job, now: number, rerunAfterMs?: number) => this.completeRow(job, now, rerunAfterMs));
    this.txCompleteMany = db.transaction((jobs: readonly Job[], now: number) => jobs.map((j) => this.completeRow(j, now)));
    this.txFail = db.transaction((job: Job, info: FailInfo, now: number) => this.failRow(job, info, now));
  }

  /** Records an event for a path: inserts a job or coalesces into the existing one. */
  enqueue(mapping: string, path: string, reason: string | null = null): void {
    this.guard('enqueueing', () => this.enqueueRow({ mapping, path, reason }, this.clock.now()));
  }

  /** Many events in one transaction (one fsync): what a rescan or a watcher flush uses. */
  enqueueMany(items: readonly EnqueueItem[]): void {
    if (items.length > 0) this.guard('enqueueing', () => this.txEnqueueMany.immediate(items, this.clock.now()));
  }

  /**
   * Claims up to `limit` due jobs, skipping `excludeMappings` (paused by the
   * user). `token` names the worker; with the job id, `token:n` names this claim.
   */
  claim(token: string, limit = 1, opts: MappingFilter = {}): Job[] {
    const now = this.clock.now();
    if (now < this.pausedUntil() || limit < 1) return [];
    const exclude = JSON.stringify(opts.excludeMappings ?? []);
    // Inside the pool's batch the batch's transaction is the claim's: no savepoint of its own.
    if (this.db.inTransaction) return this.guard('claiming', () => this.claimRows(token, limit, now, exclude));
    return this.guard('claiming', () => this.txClaim.immediate(token, limit, now, exclude));
  }

  /**
   * Finishes a claim. True when this token still held the job: the row is
   * deleted, or queued once more if events arrived while it ran. False (stale)
   * when the lease was lost and someone else owns the job now.
   */
  complete(job: Job, opts: { rerunAfterMs?: number } = {}): boolean {
    this.pause.succeeded();
    const now = this.clock.now();
    // Each way of completing is one statement that changes the row or nothing: inside
    // a batch's transaction it needs no savepoint of its own.
    if (this.db.inTransaction) return this.guard('completing', () => this.completeRow(job, now, opts.rerunAfterMs));
    return this.guard('completing', () => this.txComplete.immediate(job, now, opts.rerunAfterMs));
  }

  /** Gives a claimed job back untouched (shutdown aborted it): queued now, attempt refunded. False if stale. */
  release(job: Job): boolean {
    const now = this.clock.now();
    return this.guard('releasing', () => this.sGiveBack.run({ id: job.id, token: job.token, now }).changes > 0);
  }

  /** complete() for a batch in one transaction; one result per job. */
  completeMany(jobs: readonly Job[]): boolean[] {
    if (jobs.length > 0) this.pause.succeeded();
    return jobs.length === 0 ? [] : this.guard('completing', () => this.txCompleteMany.immediate(jobs, this.clock.now()));
  }

  /** Records a failed run; see FailInfo.retry for what each verdict does. */
  fail(job: Job, info: FailInfo): FailOutcome {
    return this.guard('recording a failure', () => this.txFail.immediate(job, info, this.clock.now()));
  }

  /**
   * Holds every job until `untilMs` (server-wide 429/503), at most maxPauseMs from
   * now whatever was asked. Never shortens a pause already set.
   */
  pauseAll(untilMs: number): void {
    const until = Math.min(untilMs, this.clock.now() + this.options.maxPauseMs);
    this.pause.extend(until);
  }

  resumeAll(): void {
    this.pause.clear();
  }

  /** Epoch ms until which claims return nothing; 0 when not paused. */
  pausedUntil(): number {
    return this.pause.until();
  }

  /** When the next job becomes claimable (the pool sleeps until then); null when nothing is queued. */
  nextRunAt(opts: MappingFilter = {}): number | null {
    const t = this.sNextRun.get(JSON.stringify(opts.excludeMappings ?? [])) as number | null;
    return t === null ? null : Math.max(t, this.pausedUntil());
  }

  /** Extends the leases of jobs this process is still running, so a long upload is never swept and started twice. */
  renewLeases(ids: readonly number[]): void {
    if (ids.length === 0) return;
    const until = this.clock.now() + this.options.leaseMs;
    this.db
      .transaction(() => {
        for (const id of ids) this.sRenew.run(until, id);
      })
      .immediate();
  }

  /** Frees jobs whose lease expired (a hung worker). Returns how many. */
  sweepLeases(): number {
    return this.releaseRunning(false, 'LEASE_EXPIRED', 'lease expired while running (worker hung?)');
  }

  /**
   * Startup recovery: the previous process died, so every `running` row is
   * orphaned. Only call this while holding the single-instance lock.
   */
  recover(): number {
    const now = this.clock.now();
    const limit = now + Math.max(this.options.backoffMaxMs, this.options.maxWaitMs, this.options.debounceMs);
    this.sClampRunAt.run({ limit });
    if (this.pausedUntil() > now + this.options.backoffMaxMs) this.pause.set(now + this.options.backoffMaxMs);
    return this.releaseRunning(true, 'CRASHED', 'the daemon stopped while running this job');
  }

  /** The asset ids running jobs were given: a job that died mid-run may have uploaded under its hint. */
  runningHints(): { mapping: string; path: string; assetId: string }[] {
    return this.sRunningHints.all() as { mapping: string; path: string; assetId: string }[];
  }

  counts(): JobCounts {
    return this.reports.counts(this.clock.now());
  }

  countsByMapping(): Map<string, { queued: number; running: number; failed: number }> {
    return this.reports.countsByMapping();
  }

  /** Queued jobs outside `excludeMappings` (does anything remain that could run?). */
  countQueued(opts: MappingFilter = {}): number {
    return this.reports.countQueued(JSON.stringify(opts.excludeMappings ?? []));
  }

  pending(limit = 100): PendingJob[] {
    return this.reports.pending(limit);
  }

  failed(limit = 100): FailedJob[] {
    return this.reports.failed(limit);
  }

  /**
   * Jobs an earlier version failed because Squidex was away or refused us go back to
   * the queue with fresh attempts (call when Squidex answers). Returns how many.
   */
  reviveLegacyFailures(): number {
    return this.guard('re-queueing', () => this.sRevive.run({ now: this.clock.now() }).changes);
  }

  /** Failed jobs back to queued with fresh attempts; all of them, or only the given paths. */
  requeueFailed(paths?: readonly PathRef[]): number {
    return this.reports.requeueFailed(this.clock.now(), paths);
  }

  /** Queue invariants; [] when all hold. */
  check(): string[] {
    return this.reports.check();
  }

  private claimRows(token: string, limit: number, now: number, exclude: string): Job[] {
    return this.sClaim.all({ token, limit, now, exclude, lease: this.options.leaseMs }) as Job[];
  }

  private enqueueRow(it: EnqueueItem, now: number): void {
    const reason = it.reason ?? null;
    this.sEnqueue.run({
      mapping: it.mapping,
      path: it.path,
      reason,
      now,
      due: now + (it.delayMs ?? this.options.debounceMs),
      maxWait: this.options.maxWaitMs,
      revive: reason !== null && NON_REVIVING_REASONS.has(reason) ? 0 : 1,
      weak: it.weak ? 1 : 0,
    });
  }

  private completeRow(job: Job, now: number, rerunAfterMs?: number): boolean {
    if (rerunAfterMs !== undefined) return this.sRerun.run({ id: job.id, token: job.token, now, due: now + rerunAfterMs }).changes > 0;
    if (this.sDone.run(job.id, job.token).changes > 0) return true;
    return this.sRequeueAfterRun.run({ id: job.id, token: job.token, now }).changes > 0;
  }

  private failRow(job: Job, info: FailInfo, now: number): FailOutcome {
    const row = this.sRunning.get(job.id, job.token) as { attempts: number; generation: number; claimedGen: number } | undefined;
    if (!row) return 'stale';
    const message = info.message;
    const code = info.code ?? null;
    if (info.retry === 'pause') {
      // The server is overloaded, not this file: the attempt is given back. Refusals
      // of requests that were in flight together are one refusal: only one after the
      // pause has ended makes the next unsized pause longer.
      const current = this.pausedUntil();
      const until = info.retryAfterMs !== undefined ? now + info.retryAfterMs : current > now ? current : now + this.pause.unsized();
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

  /** Store errors leave as SyncErrors with a verdict (disk full: retry later; damaged: stop). */
  private guard<T>(doing: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw stateError(e, this.file, doing);
    }
  }

  private releaseRunning(all: boolean, code: SyncErrorCode, message: string): number {
    return this.guard('freeing jobs', () =>
      this.db
        .transaction(
          () =>
            this.sRelease.run({
              all: all ? 1 : 0,
              now: this.clock.now(),
              max: this.options.maxAttempts,
              code,
              message,
              spent: `${message}; attempts spent, giving up`,
            }).changes,
        )
        .immediate(),
    );
  }
}
