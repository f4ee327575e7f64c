/**
 * A total deadline per request. undici's headers/body timeouts are idle
 * timeouts: a server or proxy that sends one byte just inside them holds a
 * worker forever. The deadline covers the whole exchange, body included:
 *
 *   2 × timeoutMs (the server's time to answer, and to send its answer)
 *   + for an upload, its bytes at the slowest rate we still call working
 *
 * That rate is a 1 Mbit/s link, or the bandwidth cap if lower, shared by every
 * connection at once. The deadline is a net for broken servers, not a speed
 * limit: an upload that is merely slow finishes well inside it.
 */

import { forgetAbort, whenAborted } from '../lib/abort.js';
import { timerDelay } from '../lib/timers.js';

/** Largest answer read from Squidex or its token endpoint; a listing page of 200 assets is well under 1 MiB. */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** The slowest link we still call working, bytes/s (1 Mbit/s). */
export const SLOWEST_LINK = 128 * 1024;

export interface DeadlineInput {
  timeoutMs: number;
  /** Request body bytes (uploads); 0 otherwise. */
  bodyBytes: number;
  /** upload.maxBytesPerSecond; 0 = none. */
  capBytesPerSecond: number;
  /** Connections that may upload at the same time and so share the link. */
  connections: number;
}

export function deadlineMs(d: DeadlineInput): number {
  const link = d.capBytesPerSecond > 0 ? Math.min(d.capBytesPerSecond, SLOWEST_LINK) : SLOWEST_LINK;
  const perUpload = link / Math.max(1, d.connections);
  return Math.ceil(2 * d.timeoutMs + (d.bodyBytes / perUpload) * 1000);
}

/** Something that may end a request: the request learns why, once. */
export interface Abortable {
  /** Why it ended; undefined while it has not. */
  readonly reason: Error | undefined;
  /** `cb` is called once, when it ends (not if it already has: read `reason` first). */
  onAbort(cb: (reason: Error) => void): void;
}

export interface Deadline extends Abortable {
  /** Stops the timer and lets go of the caller's signal; call when the request is over. */
  clear(): void;
}

/**
 * Ends with `reason()` after `ms`, or with the caller's own reason when
 * `outer` aborts first (so a cancel still reads as a cancel, not a timeout).
 * No AbortController of its own: one per request, with its listeners, cost
 * the transport a sixth of its CPU per small request (docs/benchmarks.md).
 * No timer of its own either: the deadlines share one (see Due below); and
 * the caller's signal is listened to through lib/abort.ts, one listener per
 * signal, not one per request.
 */
export function startDeadline(ms: number, reason: () => Error, outer?: AbortSignal): Deadline {
  return new RequestDeadline(performance.now() + timerDelay(ms), reason, outer);
}

class RequestDeadline implements Deadline, Due {
  #ended: Error | undefined;
  #listener: ((reason: Error) => void) | undefined;
  readonly #onOuter: (() => void) | undefined;

  constructor(
    readonly at: number,
    private readonly why: () => Error,
    private readonly outer: AbortSignal | undefined,
  ) {
    watch(this);
    if (!outer) return;
    this.#onOuter = () => this.#end((outer.reason as Error | undefined) ?? new Error('The request was cancelled.'));
    if (outer.aborted) this.#onOuter();
    else whenAborted(outer, this.#onOuter);
  }

  get reason(): Error | undefined {
    return this.#ended;
  }

  onAbort(cb: (reason: Error) => void): void {
    this.#listener = cb;
  }

  clear(): void {
    unwatch(this);
    if (this.#onOuter) forgetAbort(this.outer!, this.#onOuter);
  }

  expire(): void {
    this.#end(this.why());
  }

  #end(why: Error): void {
    if (this.#ended) return;
    this.#ended = why;
    this.#listener?.(why);
  }
}

/**
 * A deadline not yet cleared. All of them share one timer, armed for the
 * earliest: a timer per request (a Timeout object, its list insert and
 * removal) showed in profiles of small uploads, and nearly every request ends
 * long before its deadline, which then costs only a set insert and delete.
 */
interface Due {
  /** performance.now() at which it expires. */
  readonly at: number;
  expire(): void;
}

const watched = new Set<Due>();
let timer: NodeJS.Timeout | undefined;
let armedAt = Number.POSITIVE_INFINITY;

function watch(due: Due): void {
  watched.add(due);
  if (due.at < armedAt) arm(due.at);
}

function unwatch(due: Due): void {
  watched.delete(due);
  // Nothing left to time: the shared timer must not keep the process alive.
  if (watched.size === 0 && timer) {
    clearTimeout(timer);
    timer = undefined;
    armedAt = Number.POSITIVE_INFINITY;
  }
}

function arm(at: number): void {
  if (timer) clearTimeout(timer);
  armedAt = at;
  timer = setTimeout(expireDue, timerDelay(at - performance.now()));
}

function expireDue(): void {
  timer = undefined;
  armedAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  let next = Number.POSITIVE_INFINITY;
  const expired: Due[] = [];
  for (const due of watched) {
    if (due.at <= now) expired.push(due);
    else if (due.at < next) next = due.at;
  }
  for (const due of expired) watched.delete(due);
  // The timer may wake a moment before performance.now() reaches `at`: then it is armed again.
  if (next !== Number.POSITIVE_INFINITY) arm(next);
  for (const due of expired) due.expire();
}
