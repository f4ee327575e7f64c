/**
 * One error type for the whole daemon. Every error that crosses a module
 * boundary carries a stable `code`, the `cause` it wraps, and a retry verdict
 * decided where the error is made (the Squidex client classifies HTTP
 * failures in one place: src/squidex/classify.ts).
 */
export type Retry = 'retry' | 'never' | 'pause';

/** Every code a SyncError (or a job's last failure) can carry; `status` and the queue store them. */
export type SyncErrorCode =
  // the configuration and the command line
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'INVALID_ARGUMENT'
  | 'IGNORE_INVALID'
  // Squidex and the way to it (src/squidex/classify.ts classifies them)
  | 'NETWORK'
  | 'TIMEOUT'
  | 'TLS'
  | 'PROXY_ERROR'
  | 'SERVER_ERROR'
  | 'RATE_LIMITED'
  | 'AUTH_FAILED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'GONE'
  | 'CONFLICT'
  | 'VERSION_CONFLICT'
  | 'TOO_LARGE'
  | 'UPLOAD_TOO_LARGE_SUSPECTED'
  | 'RESPONSE_TOO_LARGE'
  | 'UNEXPECTED_RESPONSE'
  | `HTTP_${number}`
  | 'APP_NOT_FOUND'
  | 'FOLDER_NOT_FOUND'
  | 'FOLDER_GONE'
  | 'SQUIDEX_UNREACHABLE'
  | 'ABORTED'
  | 'STAMP_REFUSED'
  | 'TUS_GONE'
  | 'TUS_UNSUPPORTED'
  | 'TUS_OFFSET_CONFLICT'
  | 'TUS_CHUNK_TOO_LARGE'
  // local files
  | 'FILE_CHANGED'
  | 'FILE_REPLACED'
  | 'FILE_UNSTABLE'
  | 'FILE_UNREADABLE'
  | 'FILE_IO'
  | 'FILE_ERROR'
  | 'NOT_A_FILE'
  | 'OUTSIDE_MAPPING'
  // the state database
  | 'STATE_LOCKED'
  | 'STATE_LOCK_IO'
  | 'STATE_IO'
  | 'STATE_FOREIGN'
  | 'STATE_TOO_NEW'
  | 'STATE_LOST'
  | 'STATE_FULL'
  | 'STATE_ERROR'
  | 'STATE_CORRUPT'
  | 'STATE_BUSY'
  | 'STATE_CONFLICT'
  // watching, the local web service
  | 'WATCH_FAILED'
  | 'WATCH_LIMIT'
  | 'HTTP_LISTEN'
  | 'HTTP_BAD_PORT'
  | 'HTTP_BAD_HOST'
  // the process: stopping, a job its process died under or whose lease ran out, anything not foreseen
  | 'STOPPING'
  | 'CRASHED'
  | 'LEASE_EXPIRED'
  | 'UNEXPECTED';

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
  readonly code: SyncErrorCode;
  readonly retry: Retry;
  readonly retryAfterMs: number | undefined;
  readonly hint: string | undefined;

  constructor(code: SyncErrorCode, message: string, options: SyncErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SyncError';
    this.code = code;
    this.retry = options.retry ?? 'never';
    this.retryAfterMs = options.retryAfterMs;
    this.hint = options.hint;
  }
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
