/**
 * `sync.concurrency: auto`: how many requests to Squidex may be in flight at
 * once, found while syncing. In the family of TCP Vegas and Netflix's
 * concurrency-limits: a server working on more requests than it has workers
 * queues them, and a queue shows as latency above its floor. Per window of
 * about one round trip's answers (as many as the limit, at least MIN_WINDOW),
 * the limiter estimates the requests queued at the server,
 *
 *   queued = limit × (1 − floor / latency)
 *
 * and grows by one while that is below ALPHA (and the window kept the limit
 * busy: more room for a pool that does not use it says nothing), shrinks by
 * one above BETA. A 429 or 503 cuts the limit to DROP of itself at once, once
 * per round trip (answers to requests sent before the cut say nothing new),
 * and from then on growth at or above the level that was refused is slow: one
 * step per SLOW_WINDOWS windows, so a rate limit is probed rarely rather than
 * hit every few round trips; refused again at the same level, half as often.
 *
 * No external library: none on npm implements this family and is kept; the
 * algorithm is this page.
 */
import { performance } from 'node:perf_hooks';
import { forgetAbort, whenAborted } from '../lib/abort.js';

export const MIN_LIMIT = 1;
export const MAX_LIMIT = 64;
/** Today's fixed default: a safe start for a small instance, grown from within seconds for a big one. */
export const INITIAL_LIMIT = 8;
const MIN_WINDOW = 4;
const DROP = 0.9;
const SLOW_WINDOWS = 8;
/** Refused again at the same level: wait twice as long before the next probe, up to this. */
const SLOWEST_WINDOWS = 64;
/**
 * Latency this close to the floor is not a queue: timers and the event loop
 * jitter by a millisecond or two, and on loopback that is most of a round trip.
 */
const TOLERANCE_MS = 2;
/** Uploads bigger than this take as long as their bytes, not as the server's queue: no latency sample. */
export const SAMPLE_MAX_BYTES = 256 * 1024;
/** The floor is the least window latency of the last FLOOR_EPOCHS epochs: a server that truly slowed down is believed after a while. */
const FLOOR_EPOCH_MS = 30_000;
const FLOOR_EPOCHS = 10;

/**
 * Jobs the pool runs under a limit: a few more than the requests allowed at
 * once, because a job spends part of its time off the wire (stat, hash, the
 * state database). With exactly `limit` jobs the limit was never full, and a
 * server that takes K at once saw fewer; the extra jobs wait at the limit with
 * their file closed (the client waits before it opens the file to send).
 */
export function workersFor(limit: number): number {
  return limit + Math.max(1, Math.ceil(limit / 4));
}

/** What an answer said about the pace (errors.ts, paceOf): a latency sample, too much, or nothing. */
export type Pace = 'sample' | 'overload' | 'none';

export interface Ticket {
  /** The request is over (its answer read, or it failed); `bytes` it sent. Once per ticket; timed from entry. */
  done(pace: Pace, bytes?: number): void;
}

/** The request path's side: wait for room, then report how the request went. */
export interface RequestLimiter {
  enter(signal?: AbortSignal): Promise<Ticket>;
  /**
   * The ticket enter() would give at once, without its promise and the wait
   * for it (nearly every request of a first sync finds room); undefined when
   * the request must go through enter().
   */
  enterNow(signal?: AbortSignal): Ticket | undefined;
  /** How long a request refused without Retry-After waits before it is sent again (n = 0, 1, …). */
  retryDelayMs(n: number): number;
}

export interface LimiterOptions {
  initial?: number;
  min?: number;
  max?: number;
  /** Milliseconds, fine-grained (performance.now by default): loopback round trips are below one ms. */
  now?: () => number;
}

/** A request waiting for room: admitted (resolve) or turned away (reject) by whoever holds the line. */
export interface InLine {
  resolve(t: Ticket): void;
  reject(e: unknown): void;
}

/**
 * A place at the end of `line`, settled by whoever holds the line; a stop
 * takes it out again and rejects with the stop's reason. Once settled, the
 * stop's signal no longer holds it: a signal shared by many requests would
 * otherwise keep one callback for every request that ever waited.
 */
export function waitInLine(line: InLine[], signal?: AbortSignal): Promise<Ticket> {
  return new Promise<Ticket>((resolve, reject) => {
    if (!signal) {
      line.push({ resolve, reject });
      return;
    }
    const leave = (): void => {
      const i = line.indexOf(entry);
      if (i < 0) return;
      line.splice(i, 1);
      reject(signal.reason);
    };
    const entry: InLine = {
      resolve: (t) => {
        forgetAbort(signal, leave);
        resolve(t);
      },
      reject: (e) => {
        forgetAbort(signal, leave);
        reject(e);
      },
    };
    line.push(entry);
    whenAborted(signal, leave);
  });
}

export class AdaptiveLimiter implements RequestLimiter {
  readonly min: number;
  readonly max: number;
  #limit: number;
  #inFlight = 0;
  readonly #waiting: InLine[] = [];
  readonly #now: () => number;
  /** Numbers requests as they are let in: a drop counts only for requests sent after the last cut. */
  #issued = 0;
  #cutAt = 0;
  /** The limit at which the server last refused; growth from just below it is slow. */
  #refusedAt = Infinity;
  #slowCount = 0;
  #slowWindows = SLOW_WINDOWS;
  readonly #window: number[] = [];
  #windowBusy = false;
  readonly #floors: Array<{ epoch: number; ms: number }> = [];
  #drops = 0;
  #listeners: Array<(limit: number) => void> = [];

  constructor(opts: LimiterOptions = {}) {
    this.min = opts.min ?? MIN_LIMIT;
    this.max = opts.max ?? MAX_LIMIT;
    this.#limit = clamp(opts.initial ?? INITIAL_LIMIT, this.min, this.max);
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** 429s and 503s seen so far. */
  get drops(): number {
    return this.#drops;
  }

  /** Called with the new limit whenever it changes. */
  onChange(fn: (limit: number) => void): void {
    this.#listeners.push(fn);
  }

  enter(signal?: AbortSignal): Promise<Ticket> {
    const now = this.enterNow();
    if (now) return Promise.resolve(now);
    signal?.throwIfAborted();
    return waitInLine(this.#waiting, signal);
  }

  enterNow(): Ticket | undefined {
    return this.#inFlight < this.#limit && this.#waiting.length === 0 ? this.#admit() : undefined;
  }

  retryDelayMs(n: number): number {
    return Math.min(5000, 100 * 2 ** n);
  }

  #admit(): Ticket {
    this.#inFlight++;
    // Half the limit in use is busy enough to learn from (as in concurrency-limits): workers spend part of each job off the wire.
    if (2 * this.#inFlight >= this.#limit) this.#windowBusy = true;
    const seq = ++this.#issued;
    const started = this.#now();
    let over = false;
    return {
      done: (pace, bytes = 0) => {
        if (over) return;
        over = true;
        this.#inFlight--;
        if (pace === 'overload') this.#overload(seq);
        else if (pace === 'sample' && bytes <= SAMPLE_MAX_BYTES) this.#sample(this.#now() - started);
        this.#release();
      },
    };
  }

  #release(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#limit) this.#waiting.shift()!.resolve(this.#admit());
  }

  #overload(seq: number): void {
    this.#drops++;
    if (seq <= this.#cutAt) return;
    this.#cutAt = this.#issued;
    // The same level refused again (a rate limit, not a passing overload): probe it half as often.
    this.#slowWindows =
      Number.isFinite(this.#refusedAt) && this.#limit <= this.#refusedAt + 1
        ? Math.min(SLOWEST_WINDOWS, this.#slowWindows * 2)
        : SLOW_WINDOWS;
    this.#refusedAt = this.#limit;
    this.#slowCount = 0;
    this.#window.length = 0;
    this.#windowBusy = false;
    this.#set(Math.floor(this.#limit * DROP));
  }

  #sample(ms: number): void {
    this.#window.push(ms);
    if (this.#window.length < Math.max(MIN_WINDOW, this.#limit)) return;
    const latency = median(this.#window);
    const busy = this.#windowBusy;
    this.#window.length = 0;
    this.#windowBusy = 2 * this.#inFlight >= this.#limit;
    const floor = this.#floor(latency);
    const queued = this.#limit * Math.max(0, 1 - (floor + TOLERANCE_MS) / latency);
    const log = Math.log10(Math.max(10, this.#limit));
    if (queued > 6 * log) this.#set(this.#limit - 1);
    else if (queued < 3 * log && busy) this.#grow();
  }

  #grow(): void {
    if (this.#limit + 1 >= this.#refusedAt && ++this.#slowCount < this.#slowWindows) return;
    this.#slowCount = 0;
    this.#set(this.#limit + 1);
  }

  /** Records this window's latency and returns the floor: the least of recent epochs. */
  #floor(latency: number): number {
    const epoch = Math.floor(this.#now() / FLOOR_EPOCH_MS);
    const last = this.#floors.at(-1);
    if (last?.epoch === epoch) last.ms = Math.min(last.ms, latency);
    else this.#floors.push({ epoch, ms: latency });
    while (this.#floors.length > 0 && this.#floors[0].epoch <= epoch - FLOOR_EPOCHS) this.#floors.shift();
    return Math.min(...this.#floors.map((f) => f.ms));
  }

  #set(n: number): void {
    const next = clamp(n, this.min, this.max);
    if (next === this.#limit) return;
    this.#limit = next;
    this.#release();
    for (const fn of this.#listeners) fn(next);
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(n)));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
