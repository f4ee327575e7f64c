/** Tunables of the job queue; every time is in ms. */
export interface QueueOptions {
  /** Quiet time after the last event before a path runs. */
  debounceMs: number;
  /** A path with a continuous stream of events still runs this long after its first one. */
  maxWaitMs: number;
  /** Claims (including ones a crash interrupted) before a job is `failed`. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a claim is trusted before the sweeper hands the job to someone else. */
  leaseMs: number;
  /** Longest pause when the server asks for one without saying how long (429 without Retry-After); it grows there from backoffBaseMs. */
  defaultPauseMs: number;
  /** Longest pause of every worker, whatever the server asked for (sync.maxServerPauseSeconds). */
  maxPauseMs: number;
  /** Jitter source in [0, 1); injectable so tests are exact. */
  random: () => number;
}

export const DEFAULT_QUEUE_OPTIONS: Readonly<QueueOptions> = {
  debounceMs: 1000,
  maxWaitMs: 30_000,
  maxAttempts: 10,
  backoffBaseMs: 2000,
  backoffMaxMs: 600_000,
  leaseMs: 15 * 60_000,
  defaultPauseMs: 15 * 60_000,
  maxPauseMs: 3_600_000,
  random: Math.random,
};

export function resolveQueueOptions(opts: Partial<QueueOptions> = {}): QueueOptions {
  const o = { ...DEFAULT_QUEUE_OPTIONS, ...opts };
  for (const k of ['debounceMs', 'maxWaitMs', 'backoffBaseMs', 'backoffMaxMs', 'leaseMs', 'defaultPauseMs', 'maxPauseMs'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) throw new RangeError(`queue option ${k} must be a number ≥ 0, got ${o[k]}`);
  }
  if (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1) throw new RangeError(`queue option maxAttempts must be an integer ≥ 1`);
  return o;
}

/**
 * Delay before retry number `attempts` (1 = after the first failure):
 * base·2^(attempts−1), capped, with "equal jitter" — half fixed, half random —
 * so delays still grow visibly while a burst of failures spreads out.
 */
export function backoffDelay(attempts: number, o: Pick<QueueOptions, 'backoffBaseMs' | 'backoffMaxMs' | 'random'>): number {
  const exp = Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.round(exp / 2 + o.random() * (exp / 2));
}
