import type { ServerChanges } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { ReconcileContext } from '../worker/context.js';
import type { MappingRuntime } from '../worker/mapping.js';
import type { Difference } from './compare.js';
import { repairDifferences } from './repair.js';
import { VERIFIED_AT, verifyStore, type DriftKind } from './store.js';
import { verifyMappings } from './verify.js';

export { VERIFIED_AT };
/** meta key: when the next background verify is due (ms). */
export const VERIFY_DUE = 'verify:due';
/** How long the verify waits for uploads to go quiet before each request, at most. */
const YIELD_MAX_MS = 60_000;
const YIELD_STEP_MS = 1000;
/** setTimeout's limit (~24.8 days); a longer interval is waited in parts. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Differences named one per log line; the rest are counted. */
const LOG_LINES = 50;

export interface BackgroundVerifyOptions {
  intervalMs: number;
  mode: ServerChanges;
  mappings: readonly MappingRuntime[];
  ctx: ReconcileContext;
  /** Something was queued: the pool should look now. */
  wake(): void;
  /** Mappings whose uploads are paused: drift is listed, never repaired there. */
  paused(): string[];
}

/**
 * `sync.verifyInterval`: the daemon compares the server with the state
 * database now and then, at low priority: it starts only when no upload is
 * due, sends one request at a time, and before each one waits while uploads
 * run (up to a minute, so a busy share still gets verified). `report` lists
 * what it finds in the drift table (`status`, `/status`) and the log;
 * `restore` repairs it as `verify --repair` does.
 */
export class BackgroundVerify {
  readonly #log: Logger;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(private readonly opts: BackgroundVerifyOptions) {
    this.#log = opts.ctx.logger.child({ component: 'verify' });
  }

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    // The due time is kept, so a daemon restarted more often than the interval still verifies.
    const stored = Number(this.opts.ctx.state.meta.get(VERIFY_DUE) ?? NaN);
    const latest = this.#clock.now() + this.opts.intervalMs;
    this.#schedule(Number.isFinite(stored) ? Math.min(stored, latest) : latest);
  }

  /** Stops the timer; a verify under way ends at its next request. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
  }

  /** One verify now (tests, and the timer). */
  runOnce(): Promise<void> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  get #clock(): Clock {
    return this.opts.ctx.clock;
  }

  #schedule(dueAt: number): void {
    if (this.#abort.signal.aborted) return;
    const wait = Math.max(0, dueAt - this.#clock.now());
    try {
      const meta = this.opts.ctx.state.meta;
      if (meta.get(VERIFY_DUE) !== String(dueAt)) meta.set(VERIFY_DUE, String(dueAt));
    } catch (e) {
      this.#log.debug({ err: e }, 'cannot record when the next verify is due: %s', describeError(e));
    }
    this.#timer = setTimeout(
      () => {
        if (this.#clock.now() < dueAt) return this.#schedule(dueAt);
        void this.runOnce().finally(() => this.#schedule(this.#clock.now() + this.opts.intervalMs));
      },
      Math.min(wait, MAX_TIMER_MS),
    );
    this.#timer.unref();
  }

  async #run(): Promise<void> {
    const { ctx } = this.opts;
    const signal = this.#abort.signal;
    try {
      await this.#quiet();
      const result = await verifyMappings(this.opts.mappings, {
        state: ctx.state,
        client: ctx.client,
        pace: () => this.#quiet(),
        signal,
        learn: true,
      });
      const store = verifyStore(ctx.state.db);
      for (const v of result.mappings) {
        signal.throwIfAborted();
        const before = new Map(
          store
            .listDrift(100_000)
            .filter((d) => d.mapping === v.mapping)
            .map((d) => [`${d.assetId}\0${d.kind}`, d.detail]),
        );
        let left = v.differences;
        if (this.opts.mode === 'restore' && !this.opts.paused().includes(v.mapping)) {
          const repaired = await repairDifferences(v.differences, result, ctx, signal);
          this.opts.wake();
          for (const d of [...repaired.fixed, ...repaired.queued])
            this.#log.warn(
              { mapping: d.mapping, path: d.path, assetId: d.assetId, kind: d.kind },
              'restoring %s: %s (sync.serverChanges: restore)',
              d.path,
              d.detail,
            );
          for (const f of repaired.failed)
            this.#log.warn(
              { mapping: f.difference.mapping, path: f.difference.path, kind: f.difference.kind },
              'cannot restore %s: %s',
              f.difference.path,
              f.error,
            );
          left = [...repaired.left, ...repaired.failed.map((f) => f.difference)];
        }
        // A held replace says more than the verify can (the newer file waiting on the share): keep its words.
        const rows = left.filter(isDrift).map((d) => {
          const had = before.get(`${d.assetId}\0${d.kind}`);
          return { ...toRow(d), detail: had?.startsWith(d.detail) ? had : d.detail };
        });
        store.replaceDrift(v.mapping, rows, this.#clock.now());
        // Named once: what is new since the last verify (under restore, the repairs were named above).
        const fresh = v.differences.filter((d) => !before.has(`${d.assetId}\0${d.kind}`));
        this.#logNew(this.opts.mode === 'report' ? fresh : fresh.filter((d) => d.kind === 'unknown'));
        this.#log.info(
          { mapping: v.mapping, compared: v.compared, differences: v.differences.length },
          'verify: %d files compared with Squidex, %d differences',
          v.compared,
          v.differences.length,
        );
      }
      ctx.state.meta.set(VERIFIED_AT, String(this.#clock.now()));
    } catch (e) {
      if (signal.aborted) return;
      this.#log.warn(
        { code: e instanceof SyncError ? e.code : undefined },
        'verify did not finish; it runs again at the next interval: %s',
        describeError(e),
      );
    }
  }

  #logNew(found: readonly Difference[]): void {
    for (const d of found.slice(0, LOG_LINES)) {
      const fields = { mapping: d.mapping, path: d.path, assetId: d.assetId, kind: d.kind };
      if (d.kind === 'unknown') this.#log.info(fields, 'in a mapped folder, not from the share (never deleted): %s', d.path);
      else this.#log.warn(fields, 'changed in Squidex, left as it is (sync.serverChanges: report): %s: %s', d.path, d.detail);
    }
    if (found.length > LOG_LINES) this.#log.warn('… and %d more differences; `squidex-sync status` lists them', found.length - LOG_LINES);
  }

  /** Waits while uploads are running or due, a minute at most. */
  async #quiet(): Promise<void> {
    const jobs = this.opts.ctx.state.jobs;
    for (let waited = 0; waited < YIELD_MAX_MS; waited += YIELD_STEP_MS) {
      this.#abort.signal.throwIfAborted();
      const next = jobs.nextRunAt({ excludeMappings: this.opts.paused() });
      if (jobs.counts().running === 0 && (next === null || next > this.#clock.now())) return;
      await new Promise((r) => setTimeout(r, YIELD_STEP_MS).unref());
    }
  }
}

function isDrift(d: Difference): d is Difference & { kind: DriftKind; assetId: string } {
  return d.kind !== 'unsynced' && d.kind !== 'unreadable' && d.assetId !== null;
}

function toRow(d: Difference & { kind: DriftKind; assetId: string }): {
  mapping: string;
  path: string;
  assetId: string;
  kind: DriftKind;
  detail: string;
} {
  return { mapping: d.mapping, path: d.path, assetId: d.assetId, kind: d.kind, detail: d.detail };
}
