import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * "Closed cleanly" marker beside the state file, so the lock holder can skip
 * PRAGMA quick_check at open: the check reads every page, ~60 ms at 100k files
 * and growing with the table, on every restart. The marker records the file's
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

/** After the last connection closed (SQLite has checkpointed and removed the WAL): records the file as clean. */
export function markClean(stateFile: string): void {
  const now = identity(stateFile);
  if (!now) return;
  try {
    writeFileSync(markFile(stateFile), JSON.stringify(now) + '\n');
  } catch {
    // Without a marker the next open runs the check: slower, never wrong.
  }
}
