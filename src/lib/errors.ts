/**
 * One error type for the whole daemon. Every error that crosses a module
 * boundary carries a stable `code`, the `cause` it wraps, and a retry verdict
 * decided where the error is made (the Squidex client classifies HTTP
 * failures in one place: src/squidex/errors.ts).
 */
export type Retry = 'retry' | 'never' | 'pause';

export interface SyncErrorOptions {
  cause?: unknown;
  /** retry: back off and try again; never: fail the job now; pause: the whole server asked us to wait. */
  retry?: Retry;
  /** A server-wide or per-job wait the server asked for (Retry-After), in ms. */
  retryAfterMs?: number;
  /** What the user can do about it, in plain words. */
  hint?: string;
}

export class SyncError extends Error {
  readonly code: string;
  readonly retry: Retry;
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncError';
    this.code = code;
    this.retry = options.retry ?? 'never';
    this.retryAfterMs = options.retryAfterMs;
    this.hint = options.hint;
  }

  get retryable(): boolean {
    return this.retry !== 'never';
  }
}

export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError;
}

/**
 * A message fit for a log line or `status`: message plus hint, never a stack.
 * A message that is a list (a config's problems) gets its hint on a line of its own.
 */
export function describeError(e: unknown): string {
  if (e instanceof SyncError) return e.hint ? `${e.message}${e.message.includes('\n') ? '\n' : ' '}${e.hint}` : e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
