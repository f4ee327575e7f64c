import type { Config } from '../config/index.js';
import type { Logger } from '../lib/log.js';
import { describeError } from '../lib/errors.js';
import type { AdaptiveLimiter } from '../squidex/limiter.js';
import type { Concurrency } from '../service/metrics.js';
import type { State } from '../state/index.js';

/** meta key where the daemon (or `once`) keeps the limit `auto` found: `status` runs in another process. */
export const CONCURRENCY_KEY = 'concurrency:limit';
/** One commit per change would compete with the pool's: the value may lag this much. */
const RECORD_EVERY_MS = 5000;

/** What `sync.concurrency` allows now: the requests of the limiter under auto, else the pinned number of uploads. */
export function concurrencyNow(config: Config, limiter: AdaptiveLimiter | undefined): Concurrency {
  if (limiter) return { mode: 'auto', limit: limiter.limit, inFlight: limiter.inFlight };
  return { mode: 'pinned', limit: config.sync.concurrency as number };
}

/** Writes the limit into the state's meta when it changed, at most every few seconds; returns the stop. */
export function recordLimit(limiter: AdaptiveLimiter | undefined, state: State, logger: Logger): () => void {
  if (!limiter) return () => undefined;
  let written: number | undefined;
  const write = (): void => {
    if (written === limiter.limit) return;
    try {
      state.meta.set(CONCURRENCY_KEY, String(limiter.limit));
      written = limiter.limit;
    } catch (e) {
      logger.debug({ err: e }, 'cannot record the request limit for status: %s', describeError(e));
    }
  };
  write();
  const timer = setInterval(write, RECORD_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** For `status`: the running process's limit under auto (null when none runs or none is recorded yet), else the pinned number of uploads. */
export function readConcurrency(state: State, config: Config, running: boolean): { mode: 'auto' | 'pinned'; limit: number | null } {
  if (config.sync.concurrency !== 'auto') return { mode: 'pinned', limit: config.sync.concurrency };
  const v = running ? Number(state.meta.get(CONCURRENCY_KEY) ?? NaN) : NaN;
  return { mode: 'auto', limit: Number.isFinite(v) ? v : null };
}
