import { SyncError, type Retry, type SyncErrorCode } from '../lib/errors.js';
import type { Pace } from './limiter.js';

export { DEFAULT_MAX_SERVER_PAUSE_MS, parseRetryAfter } from './answers.js';

/**
 * The Squidex client's error type, what a failure says about the server as a
 * whole (FailureScope), and the predicates callers ask of an error. What each
 * status and network code becomes is decided in classify.ts.
 */
/**
 * What a failure says beyond this one request:
 * - transient: Squidex (or the way to it) did not answer properly; maybe only for a moment, maybe for hours.
 * - global: Squidex answered and refused us as a whole (credentials, permissions, certificate).
 * - pause: Squidex answered and asked everyone to wait.
 * - file: Squidex refused this request (this file, this folder); the rest goes on.
 * - local: nothing to do with the server (the file changed while sent, we cancelled).
 */
export type FailureScope = 'transient' | 'global' | 'pause' | 'file' | 'local';

export interface SquidexErrorOptions {
  cause?: unknown;
  /** Default: 'pause' for retry 'pause', else 'file'. */
  scope?: FailureScope;
  retry?: Retry;
  retryAfterMs?: number;
  hint?: string;
  status?: number;
  details?: string[];
  errorCode?: string;
  traceId?: string;
}

export class SquidexError extends SyncError {
  readonly status: number | undefined;
  readonly details: string[] | undefined;
  readonly errorCode: string | undefined;
  readonly traceId: string | undefined;
  readonly scope: FailureScope;

  constructor(code: SyncErrorCode, message: string, options: SquidexErrorOptions = {}) {
    super(code, message, options);
    this.name = 'SquidexError';
    this.scope = options.scope ?? (options.retry === 'pause' ? 'pause' : 'file');
    this.status = options.status;
    this.details = options.details;
    this.errorCode = options.errorCode;
    this.traceId = options.traceId;
  }
}

/**
 * What an answer says about the pace of requests, for `sync.concurrency: auto`
 * (limiter.ts): 429 and 503, with Retry-After or without, say "fewer at once";
 * any other answer is a latency sample; other 5xx and network failures (no
 * status) say nothing about the pace.
 */
export function paceOf(status: number | undefined): Pace {
  if (status === 429 || status === 503) return 'overload';
  if (status === undefined || status >= 500) return 'none';
  return 'sample';
}

/**
 * A 429 without Retry-After: under `auto` the limit has dropped, and the
 * request is sent again after a short wait, at the lower pace, before it
 * counts as the quota pause below (a quota used up keeps answering 429).
 */
export function slowedDown(e: unknown): boolean {
  return e instanceof SquidexError && e.status === 429 && e.retryAfterMs === undefined;
}

/** The scope of any error: a SquidexError knows its own; anything else (file system, state) is local. */
export function failureScope(e: unknown): FailureScope {
  return e instanceof SquidexError ? e.scope : 'local';
}

export const MIB = 1024 * 1024;
/** Squidex's default `assets:maxSize` (reference §2.3). */
export const DEFAULT_MAX_UPLOAD = 5 * MIB;
/** A 429 without Retry-After is the app's monthly API-call quota (reference §7): no point asking again soon. */
export const QUOTA_PAUSE_MS = 15 * 60_000;
/**
 * The reset at the same suspicious size that makes us call the file "too large" for good. Three,
 * not two: an ordinary flaky connection then has to hit the same big file three times in a row
 * (with no bigger upload succeeding meanwhile) before a good file is parked; a truly oversize
 * file costs two wasted attempts, and Kestrel drops those early.
 */
export const OVERSIZE_RESETS_BEFORE_NEVER = 3;

/** The asset (or item) a request named was deleted on the server: for a delete, the outcome wanted; for a write, a reason to create it again. */
export function isGoneOnServer(e: unknown): boolean {
  return e instanceof SyncError && (e.code === 'NOT_FOUND' || e.code === 'GONE');
}

/** A status in a bulk answer saying the same of one item. */
export function isGoneStatus(status: number): boolean {
  return status === 404 || status === 410;
}

/** The item changed on the server since its version was read (412; an error or a bulk answer's status): read it again and merge again. */
export function isVersionConflict(e: unknown): boolean {
  return typeof e === 'number' ? e === 412 : e instanceof SquidexError && e.status === 412;
}

/**
 * What Squidex's answer means for what was asked:
 * - transient: no proper answer, a server error, a timeout or a request to wait; the same request may pass later.
 * - permanent: refused for this item (its body, its id, its state); asking again changes nothing.
 * - global: refused for us as a whole (credentials, permissions).
 */
export type SquidexVerdict = 'transient' | 'permanent' | 'global';

export function squidexVerdict(e: unknown): SquidexVerdict {
  const status = e instanceof SquidexError ? e.status : undefined;
  if (status === undefined || status < 400 || status >= 500 || status === 429) return 'transient';
  if (status === 401 || status === 403) return 'global';
  return 'permanent';
}

/** The route is not there (404/405): an older or trimmed Squidex without that endpoint. */
export function isMissingRoute(e: unknown): boolean {
  return e instanceof SquidexError && (e.status === 404 || e.status === 405);
}

/** The server could not read the request body (400). */
export function isUnreadableRequest(e: unknown): boolean {
  return e instanceof SquidexError && e.status === 400;
}
