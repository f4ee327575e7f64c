import { SyncError } from '../lib/errors.js';

/** Exit codes fixed by DESIGN.md; 1 also covers deletions held by the delete guard (not in sync). */
export const EXIT = { OK: 0, FAILED_PATHS: 1, USAGE: 2, UNREACHABLE: 3 } as const;

/** Error codes that mean "cannot reach or authenticate to Squidex". */
const UNREACHABLE = new Set([
  'AUTH_FAILED',
  'FORBIDDEN',
  'NETWORK',
  'TIMEOUT',
  'APP_NOT_FOUND',
  'TLS',
  'RESPONSE_TOO_LARGE',
  'PROXY_ERROR',
  'SQUIDEX_UNREACHABLE',
]);
// HTTP_LISTEN: http.port taken or not allowed is the config's to fix; a restart would only fail again.
const USAGE = new Set([
  'CONFIG_INVALID',
  'IGNORE_INVALID',
  'USAGE',
  'STATE_LOCKED',
  'STATE_TOO_NEW',
  'STATE_CORRUPT',
  'HTTP_LISTEN',
  'HTTP_BAD_HOST',
]);

export function exitCodeFor(e: unknown): number {
  if (e instanceof SyncError) {
    if (USAGE.has(e.code)) return EXIT.USAGE;
    if (UNREACHABLE.has(e.code)) return EXIT.UNREACHABLE;
    if (e.code === 'SERVER_ERROR' || e.code === 'RATE_LIMITED') return EXIT.UNREACHABLE;
  }
  return EXIT.FAILED_PATHS;
}

export function usage(message: string): SyncError {
  return new SyncError('USAGE', message);
}
