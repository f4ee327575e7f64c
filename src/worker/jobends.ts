import { SyncError, describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { isSqliteTrouble, type Job, type State } from '../state/index.js';
import type { FailOutcome } from '../state/jobs.js';
import { noteStateTrouble } from '../state/clean.js';
import type { Availability } from '../squidex/availability.js';
import type { Outcome, SyncEvents } from './context.js';
import type { Settlements } from './settle.js';

export interface JobEndsDeps {
  state: State;
  /** Where the queue's writes for a job go: at once, or with the next claim. */
  outcomes: Pick<Settlements, 'now'>;
  /** Whether Squidex is there: a failure of its own sends the job back instead of failing it. */
  availability?: Pick<Availability, 'judge'>;
  events?: SyncEvents;
  /** The server asked everyone to wait: the jobs claimed ahead go back instead of asking again. */
  serverPaused(): void;
  logger: Logger;
}

/**
 * How a job's end is told and recorded: its outcome logged, or its failure
 * judged (the file's, or Squidex's, or the stop's) and written to the queue
 * before it is told. The pool (pool.ts) hands every ending job here.
 */
export class JobEnds {
  constructor(private readonly deps: JobEndsDeps) {}

  logOutcome(job: Job, outcome: Outcome): void {
    const logger = this.deps.logger;
    const quiet = !outcome.warn && (outcome.action === 'none' || outcome.action === 'touch' || outcome.action === 'skip');
    const level = outcome.warn ? 'warn' : quiet ? 'debug' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    // A child logger per job costs a redaction setup each: only made when something is logged.
    const log = logger.child({ mapping: job.mapping, path: job.path });
    if (outcome.warn) log.warn({ action: outcome.action }, '%s', outcome.detail);
    else if (quiet) log.debug({ action: outcome.action, detail: outcome.detail }, outcome.action);
    else log.info({ action: outcome.action, detail: outcome.detail }, '%s %s', outcome.action, job.path);
  }

  /** A job that threw: back untouched (stopping, Squidex away), or failed with the queue's verdict, told once it is recorded. */
  async failed(job: Job, e: unknown, aborted: boolean): Promise<void> {
    const { state, outcomes } = this.deps;
    const keepHint = (): void => {
      if (job.hintSent) state.files.reserveIfFree(job.mapping, job.path, job.assetHint);
    };
    if (aborted || (e instanceof SyncError && e.code === 'STOPPING')) {
      outcomes.now(() => {
        keepHint();
        state.jobs.release(job);
      });
      return;
    }
    // A raw SQLite error from a read inside the job (damage, I/O): the next open checks the file.
    if (isSqliteTrouble(e)) noteStateTrouble(state.file);
    const err =
      e instanceof SyncError ? e : new SyncError('UNEXPECTED', `Unexpected error: ${describeError(e)}`, { cause: e, retry: 'retry' });
    if (await this.#squidexAway(err, job, keepHint)) return;
    let verdict: FailOutcome = 'retry';
    outcomes.now(
      () => {
        keepHint();
        verdict = state.jobs.fail(job, { message: describeError(err), code: err.code, retry: err.retry, retryAfterMs: err.retryAfterMs });
      },
      () => this.#tell(job, err, verdict),
    );
  }

  #tell(job: Job, err: SyncError, verdict: FailOutcome): void {
    const log = this.deps.logger.child({ mapping: job.mapping, path: job.path });
    const fields = { code: err.code, attempts: job.attempts, verdict };
    if (verdict === 'failed') log.error(fields, 'failed: %s', describeError(err));
    else if (err.retry === 'pause') {
      this.deps.serverPaused();
      log.warn(fields, 'server asked us to wait: %s', describeError(err));
    } else log.warn(fields, 'will retry: %s', describeError(err));
    this.deps.events?.failed?.(err.code, verdict);
  }

  /**
   * A failure that is Squidex's, not the file's (it is away, or refuses us as a
   * whole): the job goes back untouched, attempt refunded, to run when it answers.
   */
  async #squidexAway(err: SyncError, job: Job, keepHint: () => void): Promise<boolean> {
    const { availability, outcomes, state } = this.deps;
    if (!availability || !(await availability.judge(err))) return false;
    outcomes.now(() => {
      keepHint();
      state.jobs.release(job);
    });
    this.deps.logger.debug({ mapping: job.mapping, path: job.path, code: err.code }, 'waits for Squidex: %s', describeError(err));
    this.deps.events?.failed?.(err.code, 'waiting');
    return true;
  }
}
