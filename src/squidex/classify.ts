import { formatBytes } from '../lib/units.js';
import { errorCodeOf, header, htmlTitle, looksLikeHtml, parseBody, parseRetryAfter } from './answers.js';
import { MAX_RESPONSE_BYTES } from './deadline.js';
import { DEFAULT_MAX_UPLOAD, MIB, OVERSIZE_RESETS_BEFORE_NEVER, SquidexError } from './errors.js';

/**
 * Every failure of the Squidex client is classified here, in classifyFailure(),
 * and nowhere else: status, headers and network error codes → stable code,
 * retry verdict, and a message a designer can act on.
 *
 * Each error also gets a scope, what it says about Squidex as a whole (see FailureScope):
 * transient failures and global refusals are the daemon's to judge (src/squidex/availability.ts),
 * never a mark against the file on their own.
 *
 *   network reset/refused/closed, DNS ... NETWORK            retry   transient
 *   headers/body/connect timeout, 408 ... TIMEOUT            retry   transient (so does the total deadline, deadline.ts)
 *   answer over 32 MiB .................. RESPONSE_TOO_LARGE retry   transient
 *   an HTML page where Squidex answers JSON (a proxy's error or login page), any status but
 *     400/413/415/422 ................... PROXY_ERROR / SERVER_ERROR  retry   transient
 *   TLS certificate refused ............. TLS                never   global (hint: `ca` option)
 *   reset while sending > 5 MiB and > the largest upload accepted so far
 *     ................................... UPLOAD_TOO_LARGE_SUSPECTED  retry, never from the 3rd time at that size
 *   file shrank mid-upload .............. FILE_CHANGED       retry
 *   caller aborted ...................... ABORTED            retry
 *   429 + Retry-After ................... RATE_LIMITED       pause every worker that long (capped)
 *   429 without Retry-After (quota) ..... RATE_LIMITED       pause, growing to 15 min; under
 *                                         `concurrency: auto` first sent again a few times at a lower limit (paceOf, slowedDown)
 *   503 + Retry-After ................... SERVER_ERROR       pause for it (capped)
 *   other 5xx ........................... SERVER_ERROR       retry   transient (Retry-After honoured)
 *   401 (after refresh) / 403 ........... AUTH_FAILED / FORBIDDEN   never   global
 *   token endpoint 400/401 .............. AUTH_FAILED        never   global (names the client id, never the secret)
 *   400 "Asset folder does not exist" ... FOLDER_NOT_FOUND   never (caller re-resolves)
 *   400 / 404 / 409 / 410 / 412 / 413 / other 4xx
 *     ................................... HTTP_400 / NOT_FOUND / CONFLICT / GONE / VERSION_CONFLICT /
 *                                         TOO_LARGE / HTTP_<n>   never   file
 *
 * A server-asked pause (Retry-After, in seconds or as a date) is capped at
 * FailureContext.maxPauseMs: a proxy asking for a day, or a date years ahead,
 * must not stop syncing until someone restarts the daemon.
 */

const MAX_RESPONSE_MIB = MAX_RESPONSE_BYTES / MIB;
const MAX_SIZE_NOTE = "Squidex's assets:maxSize is 5 MiB by default.";
const RAISE_LIMIT_HINT = 'Set assets:maxSize (environment ASSETS__MAXSIZE) on the Squidex server, then `squidex-sync retry` the file.';
/** Where the limit that refused a file may be, when it is lower than Squidex's default. */
const RAISE_ANY_LIMIT_HINT =
  "Raise it (Squidex's assets:maxSize, environment ASSETS__MAXSIZE, or a proxy's limit such as nginx's client_max_body_size), then `squidex-sync retry` the file.";

/** The limit a 413 states, as Kestrel words it: "The max request body size is 1048576 bytes." */
function statedLimit(said: string): number | undefined {
  const m = /max request body size is (\d+) bytes/i.exec(said);
  return m ? Number(m[1]) : undefined;
}

/** One message, one fix: the limit the server stated when it states one, else what is likely. */
function tooLarge(what: string, size: number | undefined, said: string): { message: string; hint: string } {
  const sized = size !== undefined ? `${what} (${formatBytes(size)})` : what;
  const limit = statedLimit(said);
  if (limit !== undefined) {
    return {
      message: `${sized}: the file is larger than the server accepts (HTTP 413); it accepts at most ${formatBytes(limit)} (${limit} bytes).`,
      hint: RAISE_ANY_LIMIT_HINT,
    };
  }
  if (size !== undefined && size <= DEFAULT_MAX_UPLOAD) {
    return {
      message: `${sized}: the file is larger than the server accepts (HTTP 413), though below Squidex's default limit of 5 MiB: a lower limit is set on the server or on a proxy in front of it.`,
      hint: RAISE_ANY_LIMIT_HINT,
    };
  }
  return { message: `${sized}: the file is larger than the Squidex server accepts (HTTP 413). ${MAX_SIZE_NOTE}`, hint: RAISE_LIMIT_HINT };
}

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
  /** Longest server-asked pause honoured (default DEFAULT_MAX_SERVER_PAUSE_MS). */
  maxPauseMs?: number;
}

export { formatBytes };

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
/** Codes that mean "the server dropped the connection", the way an oversize body is refused (reference §2.3). */
const DROP_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);

export function subject(ctx: Pick<FailureContext, 'operation' | 'fileName'>): string {
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
    return new SquidexError('ABORTED', `${what} was cancelled.`, { cause: error, retry: 'retry', scope: 'local' });
  }
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new SquidexError('FILE_CHANGED', `${what} stopped: the file changed size while it was being sent.`, {
      cause: error,
      retry: 'retry',
      scope: 'local',
    });
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    // A broken proxy or server streaming without end: reading on would fill memory.
    return new SquidexError(
      'RESPONSE_TOO_LARGE',
      `${what}: Squidex (or a proxy in front of it) sent an answer over ${MAX_RESPONSE_MIB} MiB; it was cut off.`,
      {
        cause: error,
        retry: 'retry',
        scope: 'transient',
        hint: 'Check the Squidex URL and any proxy in front of it.',
      },
    );
  }
  if (code && TIMEOUT_CODES.has(code)) {
    return new SquidexError('TIMEOUT', `${what}: Squidex did not answer in time (${code}).`, {
      cause: error,
      retry: 'retry',
      scope: 'transient',
    });
  }
  if (code && TLS_CODES.test(code)) {
    return new SquidexError('TLS', `${what}: the server's TLS certificate was not accepted (${code}).`, {
      cause: error,
      retry: 'never',
      scope: 'global',
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
          cause: error,
          retry: final ? 'never' : 'retry',
          hint: RAISE_LIMIT_HINT,
        },
      );
    }
  }
  if (code && NETWORK_CODES.has(code)) {
    return new SquidexError('NETWORK', `${what}: connection to Squidex failed (${code}).`, {
      cause: error,
      retry: 'retry',
      scope: 'transient',
    });
  }
  const msg = error instanceof Error ? error.message : String(error);
  return new SquidexError('NETWORK', `${what}: request to Squidex failed (${code ?? msg}).`, {
    cause: error,
    retry: 'retry',
    scope: 'transient',
  });
}

function classifyHttp(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  ctx: FailureContext,
): SquidexError {
  const p = parseBody(body);
  const base = { status, details: p.details, errorCode: p.errorCode ?? p.error, traceId: p.traceId };
  const what = subject(ctx);
  const said = [p.message, ...(p.details ?? [])].filter(Boolean).join(' ');
  const saidPart = said ? ` Squidex said: ${said}` : '';
  const retryAfterMs = parseRetryAfter(header(headers, 'retry-after'), ctx.now, ctx.maxPauseMs);
  // Squidex's own refusals of a file are JSON; a proxy's page for them (nginx's 413) still means the file.
  if (looksLikeHtml(headers, body) && ![400, 413, 415, 422].includes(status)) {
    const title = htmlTitle(body);
    const page = `an HTML page${title ? ` ("${title}")` : ''}, so a proxy or gateway answered instead of Squidex`;
    if (status >= 500) {
      return new SquidexError('SERVER_ERROR', `${what}: HTTP ${status} with ${page}.`, {
        status,
        retry: 'retry',
        retryAfterMs,
        scope: 'transient',
      });
    }
    return new SquidexError('PROXY_ERROR', `${what}: HTTP ${status} with ${page}.`, {
      status,
      retry: 'retry',
      retryAfterMs,
      scope: 'transient',
      hint: 'If this lasts, check squidex.url and the proxy or VPN between this machine and Squidex.',
    });
  }

  if (ctx.operation === 'token' && (status === 400 || status === 401)) {
    // Never echo the secret; the client id is what the user needs to check.
    const refused = status === 401 || p.error === 'invalid_client';
    return new SquidexError(
      'AUTH_FAILED',
      refused
        ? `Squidex refused the client id "${ctx.clientId ?? '?'}" and its secret (${p.error ?? `HTTP ${status}`}).`
        : `Squidex did not issue a token for client "${ctx.clientId ?? '?'}": ${p.errorDescription ?? p.error ?? `HTTP ${status}`}.`,
      {
        ...base,
        retry: 'never',
        scope: 'global',
        hint: 'Check squidex.clientId and squidex.clientSecret (Settings → Clients in the Squidex app).',
      },
    );
  }
  if (status === 408)
    return new SquidexError('TIMEOUT', `${what}: Squidex timed out (HTTP 408).`, {
      ...base,
      retry: 'retry',
      retryAfterMs,
      scope: 'transient',
    });
  if (status === 429) {
    if (retryAfterMs === undefined) {
      return new SquidexError(
        'RATE_LIMITED',
        `${what}: Squidex answered 429 without Retry-After: the app's API call quota may be used up.`,
        {
          // No retryAfterMs: the queue sizes it, growing from seconds up to QUOTA_PAUSE_MS of errors.ts (its defaultPauseMs).
          ...base,
          retry: 'pause',
          hint: "Check the app's usage and plan in Squidex; syncing resumes by itself after a pause.",
        },
      );
    }
    // A rate limit is the server's, not this file's: every worker waits (429/503 with Retry-After pause all jobs).
    return new SquidexError('RATE_LIMITED', `${what}: Squidex asked us to slow down (HTTP 429).`, {
      ...base,
      retry: 'pause',
      retryAfterMs,
    });
  }
  if (status >= 500) {
    const pause = status === 503 && retryAfterMs !== undefined;
    return new SquidexError('SERVER_ERROR', `${what}: Squidex had a server error (HTTP ${status}).${saidPart}`, {
      ...base,
      retry: pause ? 'pause' : 'retry',
      retryAfterMs,
      scope: pause ? 'pause' : 'transient',
    });
  }
  switch (status) {
    case 400: {
      if ((p.details ?? []).some((d) => /Asset folder does not exist/i.test(d))) {
        return new SquidexError('FOLDER_NOT_FOUND', `${what}: the target asset folder no longer exists in Squidex.`, {
          ...base,
          retry: 'never',
          hint: 'The folder cache entry is stale; resolve the folder again.',
        });
      }
      return new SquidexError('HTTP_400', `${what}: Squidex rejected the request.${saidPart}`, { ...base, retry: 'never' });
    }
    case 401:
      // Reached only after one refresh-and-retry (or with a static token, which cannot be refreshed).
      return new SquidexError(
        'AUTH_FAILED',
        `${what}: Squidex refused the access token${ctx.clientId ? ` of client "${ctx.clientId}"` : ''} (HTTP 401).`,
        {
          ...base,
          retry: 'never',
          scope: 'global',
          hint: 'Check that the client exists in the app, or that the configured token is still valid.',
        },
      );
    case 403:
      return new SquidexError('FORBIDDEN', `${what}: the client "${ctx.clientId ?? '?'}" is not allowed to do this (HTTP 403).`, {
        ...base,
        retry: 'never',
        scope: 'global',
        hint: 'Give the client a role with asset permissions (e.g. Editor) in the Squidex app.',
      });
    case 404:
      return new SquidexError('NOT_FOUND', `${what}: not found in Squidex (HTTP 404).${saidPart}`, {
        ...base,
        retry: 'never',
        hint: 'Check the app name, or the item was deleted on the server.',
      });
    case 409:
      return new SquidexError('CONFLICT', `${what}: conflicts with an existing item (HTTP 409).${saidPart}`, { ...base, retry: 'never' });
    case 410:
      return new SquidexError('GONE', `${what}: the item was deleted in Squidex (HTTP 410).`, { ...base, retry: 'never' });
    case 412:
      return new SquidexError('VERSION_CONFLICT', `${what}: the item changed on the server meanwhile (HTTP 412).${saidPart}`, {
        ...base,
        retry: 'never',
      });
    case 413: {
      const { message, hint } = tooLarge(what, ctx.size, said);
      return new SquidexError('TOO_LARGE', message, { ...base, retry: 'never', hint });
    }
    default:
      return new SquidexError(`HTTP_${status}`, `${what}: Squidex answered HTTP ${status}.${saidPart}`, { ...base, retry: 'never' });
  }
}

/**
 * The 413s of big files, beside tooLarge() so every "too large" text is in
 * one place (bigupload.ts throws these): a file refused in one request by a
 * server without tus, and a tus piece refused even at its smallest.
 */
export function withoutTus(e: SquidexError): SquidexError {
  return new SquidexError(
    'TOO_LARGE',
    `${e.message} The server has no tus endpoint to take the file in pieces (Squidex 6.6 and later have one).`,
    {
      cause: e,
      retry: 'never',
      status: e.status,
      details: e.details,
      errorCode: e.errorCode,
      traceId: e.traceId,
      hint: `${e.hint ?? RAISE_LIMIT_HINT} Or upgrade Squidex.`,
    },
  );
}

export function pieceTooLarge(ctx: Pick<FailureContext, 'operation' | 'fileName'>, piece: number): SquidexError {
  return new SquidexError(
    'TOO_LARGE',
    `${subject(ctx)}: even a ${formatBytes(piece)} piece was refused as too large (HTTP 413): something in front of Squidex, a reverse proxy, limits request bodies below that.`,
    {
      status: 413,
      retry: 'never',
      hint: "Raise the proxy's body limit to at least upload.chunkBytes (nginx: client_max_body_size 8m;), then `squidex-sync retry` the file.",
    },
  );
}
