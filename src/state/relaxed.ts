import type Database from 'better-sqlite3';

/**
 * Runs a write whose loss in a power cut only costs work done again (a folder
 * id looked up again, a stamp sent twice) without an fsync of its own: WAL at
 * synchronous=NORMAL still commits atomically and survives a crash of the
 * process; the next ordinary (FULL) commit makes it durable on disk too. Each
 * fsync stalls the event loop, and a first sync creating many folders and
 * sending many stamp batches saves that many stalls. Inside a transaction
 * the level cannot change, and the outer commit decides anyway.
 */
export function withoutFsync<T>(db: Database.Database, write: () => T): T {
  if (db.inTransaction) return write();
  db.pragma('synchronous = NORMAL');
  try {
    return write();
  } finally {
    db.pragma('synchronous = FULL');
  }
}
