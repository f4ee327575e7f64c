import { SyncError, type Retry } from '../lib/errors.js';

/**
 * Every failure of the Squidex client is classified here, in classifyFailure(),
 * and nowhere else: status, headers and network error codes → stable code,
 * retry verdict, and a message a designer can act on.
 *
 *   network reset/refused/closed ........ NETWORK            retry
 *   headers/body/connect timeout, 408 ... TIMEOUT            retry
 *   TLS certificate refused ............. TLS                never (hint: `ca` option)
 *   reset while sending > 5 MiB and > the largest upload accepted so far
 *     ................................... UPLOAD_TOO_LARGE_SUSPECTED  retry, never from the 3rd time at that size
 *   file shrank mid-upload .............. FILE_CHANGED       retry
 *   caller aborted ...................... ABORTED            retry
 *   429 + Retry-After ................... RATE_LIMITED       pause every worker that long
 *   429 without Retry-After (quota) ..... RATE_LIMITED       pause, growing to 15 min
 *   503 + Retry-After ................... SERVER_ERROR       pause for it
 *   other 5xx ........................... SERVER_ERROR       retry (Retry-After honoured)
 *   400 "Asset folder does not exist" ... FOLDER_NOT_FOUND   never (caller re-resolves)
 *   400 / 401 (after refresh) / 403 / 404 / 409 / 410 / 412 / 413 / other 4xx
 *     ................................... HTTP_400 / AUTH_FAILED / FORBIDDEN / NOT_FOUND / CONFLICT /
 *                                         GONE / VERSION_CONFLICT / TOO_LARGE / HTTP_<n>   never
 *   token endpoint 400/401 .............. AUTH_FAILED        never (names the client id, never the secret)
 */
export interface SquidexErrorOptions {
  cause?: unknown;
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

  constructor(code: string, message: string, options: SquidexErrorOptions = {}) {
    super(code, message, options);
    this.name = 'SquidexError';
    this.status = options.status;
    this.details = options.details;
    this.errorCode = options.errorCode;
    this.traceId = options.traceId;
  }
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

const MAX_SIZE_NOTE = "Squidex's assets:maxSize is 5 MiB by default; raise it on the server.";
const RAISE_LIMIT_HINT = 'Set assets:maxSize (environment ASSETS__MAXSIZE) on the Squidex server, then `squidex-sync retry` the file.';

export type Failure =
  | { kind: 'http'; status: number; headers: Record<string, string | string[] | undefined>; body: string }
  | { kind: 'network'; error: unknown };

export interface FailureContext {
  /** What we were doing, in words: 'upload', 'create folder "Marketing"', 'token'. */
  operation: string;
  fileName?: string;
  /** Bytes of the file being uploaded. */
  size?: number;
  clientId?: string;
  now: number;
  /** Uploads only: the largest file size this server has accepted so far (0 = none yet). */
  largestAccepted?: number;
  /** Uploads only: connection resets already seen for a file of exactly this size (this one excluded). */
  resetsAtSize?: number;
  /**
   * Which 413 this is (see tooLarge): 'absent' = the file went as one request because the server has
   * no tus endpoint; 'chunk' = a tus chunk of `size` bytes, the smallest we send, was refused.
   */
  tus?: 'absent' | 'chunk';
}

interface ParsedBody {
  message?: string;
  errorCode?: string;
  traceId?: string;
  details?: string[];
  error?: string;
  errorDescription?: string;
}

function parseBody(body: string): ParsedBody {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    if (!j || typeof j !== 'object') return {};
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    return {
      message: str(j.message),
      errorCode: str(j.errorCode),
      traceId: str(j.traceId),
      details: Array.isArray(j.details) ? j.details.filter((d): d is string => typeof d === 'string') : undefined,
      error: str(j.error),
      errorDescription: str(j.error_description),
    };
  } catch {
    return {};
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

export function formatBytes(n: number): string {
  if (n >= MIB) return `${(n / MIB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
  'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
/** Codes that mean "the server dropped the connection", the way an oversize body is refused (reference §2.3). */
const DROP_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

function errorCodeOf(e: unknown): string | undefined {
  // undici may wrap the socket's own error (ECONNRESET, EPIPE) as the cause of a generic
  // UND_ERR_SOCKET; the deeper, more specific code wins.
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let cur: unknown = e; cur && typeof cur === 'object' && !seen.has(cur); cur = (cur as { cause?: unknown }).cause) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes.find((c) => c !== 'UND_ERR_SOCKET') ?? codes[0];
}

function subject(ctx: FailureContext): string {
  return ctx.fileName !== undefined ? `${ctx.operation} of "${ctx.fileName}"` : ctx.operation;
}

/** The one place that decides code, retry verdict and message for a failed call. */
export function classifyFailure(f: Failure, ctx: FailureContext): SquidexError {
  return f.kind === 'network' ? classifyNetwork(f.error, ctx) : classifyHttp(f.status, f.headers, f.body, ctx);
}

function classifyNetwork(error: unknown, ctx: FailureContext): SquidexError {
  if (error instanceof SquidexError) return error;
  const code = errorCodeOf(error) ?? (error instanceof Error && error.name === 'AbortError' ? 'ABORT_ERR' : undefined);
  const what = subject(ctx);
  if (code === 'ABORT_ERR' || code === 'UND_ERR_ABORTED') {
    return new SquidexError('ABORTED', `${what} was cancelled.`, { cause: error, retry: 'retry' });
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new SquidexError('FILE_CHANGED', `${what} stopped: the file changed size while it was being sent.`, {
      cause: error, retry: 'retry',
    });
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new SquidexError('TIMEOUT', `${what}: Squidex did not answer in time (${code}).`, { cause: error, retry: 'retry' });
  }
  if (code && TLS_CODES.test(code)) {
    return new SquidexError('TLS', `${what}: the server's TLS certificate was not accepted (${code}).`, {
      cause: error, retry: 'never',
      hint: 'If the server uses a private CA, point the `ca` option at its PEM file; verification is never turned off.',
    });
  }
  // Squidex (Kestrel) may drop the connection instead of answering 413 when a body is too large
  // (reference §2.3). A drop while sending a file bigger than anything this server has accepted,
  // and bigger than the default limit, is suspicious: retry it a little, then stop for good, so an
  // oversize file is not retried forever. The counts live in the client (in memory) and are
  // cleared for every size up to one the server accepts.
  if (code && DROP_CODES.has(code) && ctx.size !== undefined) {
    const largest = ctx.largestAccepted ?? 0;
    if (ctx.size > DEFAULT_MAX_UPLOAD && ctx.size > largest) {
      const seen = (ctx.resetsAtSize ?? 0) + 1;
      const final = seen >= OVERSIZE_RESETS_BEFORE_NEVER;
      return new SquidexError(
        'UPLOAD_TOO_LARGE_SUSPECTED',
        `${what} (${formatBytes(ctx.size)}): Squidex closed the connection while the file was being sent` +
          (final ? `, ${seen} times at this size.` : '.') +
          ` The file is probably larger than the server's upload limit (largest accepted so far: ${formatBytes(largest)}).` +
          ` ${MAX_SIZE_NOTE}`,
        {
          cause: error, retry: final ? 'never' : 'retry',
          hint: RAISE_LIMIT_HINT,
        },
      );
    }
  }
  if (code && NETWORK_CODES.has(code)) {
    return new SquidexError('NETWORK', `${what}: connection to Squidex failed (${code}).`, { cause: error, retry: 'retry' });
  }
  const msg = error instanceof Error ? error.message : String(error);
  return new SquidexError('NETWORK', `${what}: request to Squidex failed (${code ?? msg}).`, { cause: error, retry: 'retry' });
}

function classifyHttp(
  status: number, headers: Record<string, string | string[] | undefined>, body: string, ctx: FailureContext,
): SquidexError {
  const p = parseBody(body);
  const base = { status, details: p.details, errorCode: p.errorCode ?? p.error, traceId: p.traceId };
  const what = subject(ctx);
  const said = [p.message, ...(p.details ?? [])].filter(Boolean).join(' ');
  const saidPart = said ? ` Squidex said: ${said}` : '';
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), ctx.now);

  if (ctx.operation === 'token' && (status === 400 || status === 401)) {
    // Never echo the secret; the client id is what the user needs to check.
    const refused = status === 401 || p.error === 'invalid_client';
    return new SquidexError(
      'AUTH_FAILED',
      refused
        ? `Squidex refused the client id "${ctx.clientId ?? '?'}" and its secret (${p.error ?? `HTTP ${status}`}).`
        : `Squidex did not issue a token for client "${ctx.clientId ?? '?'}": ${p.errorDescription ?? p.error ?? `HTTP ${status}`}.`,
      { ...base, retry: 'never', hint: 'Check squidex.clientId and squidex.clientSecret (Settings → Clients in the Squidex app).' },
    );
  }
  if (status === 408) return new SquidexError('TIMEOUT', `${what}: Squidex timed out (HTTP 408).`, { ...base, retry: 'retry', retryAfterMs });
  if (status === 429) {
    if (retryAfterMs === undefined) {
      return new SquidexError('RATE_LIMITED', `${what}: Squidex answered 429 without Retry-After: the app's API call quota may be used up.`, {
        // No retryAfterMs: the queue sizes it, growing from seconds up to QUOTA_PAUSE_MS (its defaultPauseMs).
        ...base, retry: 'pause',
        hint: 'Check the app\'s usage and plan in Squidex; syncing resumes by itself after a pause.',
      });
    }
    // A rate limit is the server's, not this file's: every worker waits (issue 3: 429/503 with Retry-After pause all jobs).
    return new SquidexError('RATE_LIMITED', `${what}: Squidex asked us to slow down (HTTP 429).`, { ...base, retry: 'pause', retryAfterMs });
  }
  if (status >= 500) {
    const pause = status === 503 && retryAfterMs !== undefined;
    return new SquidexError('SERVER_ERROR', `${what}: Squidex had a server error (HTTP ${status}).${saidPart}`, {
      ...base, retry: pause ? 'pause' : 'retry', retryAfterMs,
    });
  }
  switch (status) {
    case 400: {
      if ((p.details ?? []).some((d) => /Asset folder does not exist/i.test(d))) {
        return new SquidexError('FOLDER_NOT_FOUND', `${what}: the target asset folder no longer exists in Squidex.`, {
          ...base, retry: 'never', hint: 'The folder cache entry is stale; resolve the folder again.',
        });
      }
      return new SquidexError('HTTP_400', `${what}: Squidex rejected the request.${saidPart}`, { ...base, retry: 'never' });
    }
    case 401:
      // Reached only after one refresh-and-retry (or with a static token, which cannot be refreshed).
      return new SquidexError('AUTH_FAILED', `${what}: Squidex refused the access token${ctx.clientId ? ` of client "${ctx.clientId}"` : ''} (HTTP 401).`, {
        ...base, retry: 'never', hint: 'Check that the client exists in the app, or that the configured token is still valid.',
      });
    case 403:
      return new SquidexError('FORBIDDEN', `${what}: the client "${ctx.clientId ?? '?'}" is not allowed to do this (HTTP 403).`, {
        ...base, retry: 'never', hint: 'Give the client a role with asset permissions (e.g. Editor) in the Squidex app.',
      });
    case 404:
      return new SquidexError('NOT_FOUND', `${what}: not found in Squidex (HTTP 404).${saidPart}`, {
        ...base, retry: 'never', hint: 'Check the app name, or the item was deleted on the server.',
      });
    case 409:
      return new SquidexError('CONFLICT', `${what}: conflicts with an existing item (HTTP 409).${saidPart}`, { ...base, retry: 'never' });
    case 410:
      return new SquidexError('GONE', `${what}: the item was deleted in Squidex (HTTP 410).`, { ...base, retry: 'never' });
    case 412:
      return new SquidexError('VERSION_CONFLICT', `${what}: the item changed on the server meanwhile (HTTP 412).${saidPart}`, {
        ...base, retry: 'never',
      });
    case 413:
      return tooLarge(ctx, base);
    default:
      return new SquidexError(`HTTP_${status}`, `${what}: Squidex answered HTTP ${status}.${saidPart}`, { ...base, retry: 'never' });
  }
}

/**
 * Every "too large" (HTTP 413) message, in one place: a whole file refused by
 * Squidex's per-request limit (the client then tries tus, where the server has
 * it), a server without tus, and a tus chunk refused even at its smallest.
 */
export function tooLarge(ctx: FailureContext, opts: SquidexErrorOptions = {}): SquidexError {
  const what = subject(ctx);
  const size = ctx.size !== undefined ? ` (${formatBytes(ctx.size)})` : '';
  if (ctx.tus === 'chunk') {
    return new SquidexError('TOO_LARGE', `${what}: even a ${formatBytes(ctx.size ?? 0)} piece was refused as too large (HTTP 413): something in front of Squidex, a reverse proxy, limits request bodies below that.`, {
      ...opts, retry: 'never',
      hint: 'Raise the proxy\'s body limit to at least upload.chunkBytes (nginx: client_max_body_size 8m;), then `squidex-sync retry` the file.',
    });
  }
  if (ctx.tus === 'absent') {
    return new SquidexError('TOO_LARGE', `${what}${size}: the file is larger than the Squidex server accepts in one request (HTTP 413), and the server has no tus endpoint to take it in pieces (Squidex 6.6 and later have one). ${MAX_SIZE_NOTE}`, {
      ...opts, retry: 'never', hint: `${RAISE_LIMIT_HINT} Or upgrade Squidex.`,
    });
  }
  return new SquidexError('TOO_LARGE', `${what}${size}: the file is larger than the Squidex server accepts (HTTP 413). ${MAX_SIZE_NOTE}`, {
    ...opts, retry: 'never', hint: RAISE_LIMIT_HINT,
  });
}
