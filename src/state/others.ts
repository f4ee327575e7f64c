import type Database from 'better-sqlite3';

/**
 * Whether another connection committed to the database since the last call
 * (`PRAGMA data_version` changes only for other connections' commits). What
 * FilesRepo keeps in memory about the files table (counts, the hash filter)
 * follows this connection's own writes, and is dropped when this says yes.
 * Each keeper has its own: a change seen by one is news to the others.
 */
export function otherCommits(db: Database.Database): () => boolean {
  const version = db.prepare('PRAGMA data_version').pluck();
  let seen: unknown;
  return () => {
    const now = version.get();
    if (now === seen) return false;
    seen = now;
    return true;
  };
}
