import { SyncError } from '../lib/errors.js';
import { noteStateTrouble } from './clean.js';

/**
 * Turns a better-sqlite3 error into a SyncError with a verdict the worker loop
 * can act on: a full disk or a long lock wait is worth retrying later; a
 * damaged file is not. Anything that is already a SyncError passes through.
 */
export function stateError(e: unknown, file: string, doing: string): SyncError {
  if (e instanceof SyncError) return e;
  const code = (e as { code?: string }).code ?? '';
  const msg = (e as Error).message ?? String(e);
  if (code.startsWith('SQLITE_FULL')) {
    return new SyncError('STATE_FULL', `disk full while ${doing} in ${file}.`, {
      cause: e,
      retry: 'retry',
      hint: `Free space on the disk that holds ${file}; squidex-sync resumes by itself.`,
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SyncError('STATE_BUSY', `${file} stayed locked by another connection while ${doing}.`, { cause: e, retry: 'retry' });
  }
  noteStateTrouble(file);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SyncError('STATE_CORRUPT', `${file} is damaged (${msg}).`, {
      cause: e,
      hint: `Stop squidex-sync, move ${file} (and its -wal/-shm files) aside, and start again: the rescan rebuilds the state and adopts assets already on the server by their stamped hash.`,
    });
  }
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY')) {
    return new SyncError('STATE_IO', `I/O error while ${doing} in ${file}: ${msg}`, { cause: e, retry: 'retry' });
  }
  return new SyncError('STATE_ERROR', `state error while ${doing} in ${file}: ${msg}`, { cause: e });
}

function sqliteCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : '';
}

/** A raw SQLite refusal that passes by itself: a lock held elsewhere, a full disk. */
export function isTransientSqlite(e: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED|FULL)/.test(sqliteCode(e));
}

/** A raw SQLite constraint refusal: this write alone is wrong, the database is fine. */
export function isSqliteConstraint(e: unknown): boolean {
  return sqliteCode(e).startsWith('SQLITE_CONSTRAINT');
}

/** A raw SQLite error that may mean damage or I/O trouble (neither transient nor a constraint): worth a check at the next open. */
export function isSqliteTrouble(e: unknown): boolean {
  const code = sqliteCode(e);
  return code !== '' && !isTransientSqlite(e) && !isSqliteConstraint(e);
}
