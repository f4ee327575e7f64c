import { SyncError } from '../lib/errors.js';

const GONE = new Set(['ENOENT', 'ENOTDIR']);
const DENIED = new Set(['EACCES', 'EPERM']);
/** Errors a network share throws while it reconnects; worth another try. */
const TRANSIENT = new Set(['EIO', 'EAGAIN', 'EBUSY', 'ETIMEDOUT', 'ESTALE', 'EHOSTDOWN', 'ECONNRESET', 'EMFILE', 'ENFILE']);

export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

export function isGone(e: unknown): boolean {
  return GONE.has(errnoOf(e) ?? '');
}

/** One place that turns a local file-system error into a SyncError with a retry verdict. */
export function fileError(e: unknown, absPath: string): SyncError {
  const code = errnoOf(e) ?? 'UNKNOWN';
  if (e instanceof SyncError) return e;
  if (DENIED.has(code)) {
    return new SyncError('FILE_UNREADABLE', `Cannot read ${absPath}: permission denied.`, {
      cause: e,
      hint: 'Give the daemon user read access; the file is tried again when it changes or after `squidex-sync retry`.',
    });
  }
  if (TRANSIENT.has(code)) {
    return new SyncError('FILE_IO', `Reading ${absPath} failed (${code}); will try again.`, { cause: e, retry: 'retry' });
  }
  return new SyncError('FILE_ERROR', `Cannot read ${absPath} (${code}).`, { cause: e, retry: 'retry' });
}
