import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';

/**
 * "Closed cleanly" marker beside the state file, so the lock holder can skip
 * PRAGMA quick_check at open: the check reads every page, a cost that grows with
 * the table, on every restart. The marker records the file's
 * identity and change time as it was when we closed it; any write since (by
 * anyone: another process, a restore, a damaged page written over it) changes
 * ctime and size or inode, so the check runs again. A crash leaves no marker,
 * as it is removed at open before anything is written. Corruption SQLite meets
 * later is still STATE_CORRUPT (stateError); only the up-front scan is skipped.
 */
interface Mark {
  dev: number;
  ino: number;
  size: number;
  ctimeMs: number;
  mtimeMs: number;
}

const markFile = (stateFile: string): string => `${stateFile}.clean`;

function identity(stateFile: string): Mark | null {
  try {
    const s = statSync(stateFile);
    // A WAL with frames holds commits the main file does not show yet: not "as we left it".
    if ((statSync(`${stateFile}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) return null;
    return { dev: s.dev, ino: s.ino, size: s.size, ctimeMs: s.ctimeMs, mtimeMs: s.mtimeMs };
  } catch {
    return null;
  }
}

/** True when the state file is exactly as a clean close left it. Consumes the marker either way. */
export function takeCleanMark(stateFile: string): boolean {
  let mark: Mark;
  try {
    mark = JSON.parse(readFileSync(markFile(stateFile), 'utf8')) as Mark;
  } catch {
    return false;
  }
  try {
    unlinkSync(markFile(stateFile));
  } catch {
    return false; // cannot remove it: a crash would leave it standing, so do not trust it
  }
  const now = identity(stateFile);
  return now !== null && (['dev', 'ino', 'size', 'ctimeMs', 'mtimeMs'] as const).every((k) => now[k] === mark[k]);
}

/** State files on which this process met a damaged page or an I/O error: never marked clean. */
const troubled = new Set<string>();

/**
 * SQLite reported damage or an I/O error on this file (any error but a full disk
 * or a lock wait). The next open must run quick_check: a page damaged while we
 * ran would otherwise be marked clean at close, and skipped from then on.
 */
export function noteStateTrouble(stateFile: string): void {
  troubled.add(resolve(stateFile));
}

/** After the last connection closed (SQLite has checkpointed and removed the WAL): records the file as clean. */
export function markClean(stateFile: string): void {
  if (troubled.has(resolve(stateFile))) return;
  const now = identity(stateFile);
  if (!now) return;
  try {
    writeFileSync(markFile(stateFile), `${JSON.stringify(now)}\n`);
  } catch {
    // Without a marker the next open runs the check: slower, never wrong.
  }
}

/**
 * How the file looked right after this process opened it, to tell at close
 * whether anyone else wrote it meanwhile. Null: not comparable (a WAL with
 * frames, e.g. a migration just committed): then no marker.
 */
export function openedAs(stateFile: string): Mark | null {
  return identity(stateFile);
}

/**
 * At close: may the next open skip quick_check? A session that wrote runs the
 * check now (a page damaged while it ran must not be marked clean); one that
 * wrote nothing only needs the file untouched since it opened it.
 */
export function closesClean(db: Database.Database, stateFile: string, opened: Mark | null): boolean {
  if (troubled.has(resolve(stateFile))) return false;
  const wrote = (db.prepare('SELECT total_changes()').pluck().get() as number) > 0;
  if (wrote) {
    try {
      // From the file, not from our page cache: a page damaged on disk may still be good in memory.
      db.prepare('PRAGMA shrink_memory').run();
      const rows = db.prepare('PRAGMA quick_check(1)').pluck().all();
      return rows.length === 1 && rows[0] === 'ok';
    } catch {
      return false;
    }
  }
  const now = identity(stateFile);
  return opened !== null && now !== null && (['dev', 'ino', 'size', 'ctimeMs', 'mtimeMs'] as const).every((k) => now[k] === opened[k]);
}
