import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The state folder and database hold every path of the share, the asset ids and
 * the last errors: only the daemon's user may read them. Modes are set
 * explicitly, since a service manager or a shell may run us under any umask.
 */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** Creates the state folder (and missing parents) 0700. A folder that already exists is the user's: left as it is. */
export function ensurePrivateDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  // mkdir's mode passes through the umask: set it outright on each folder we made.
  for (let d = dir; ; d = dirname(d)) {
    chmodSync(d, DIR_MODE);
    if (d === first || d === dirname(d)) break;
  }
}

/**
 * Before SQLite opens the database: create it 0600 if it is new (SQLite gives
 * its -wal and -shm files the database's mode), and tighten a database, -wal or
 * -shm of ours that an older version left readable by others.
 */
export function privateDatabaseFile(path: string): void {
  try {
    const fd = openSync(path, 'wx', FILE_MODE);
    try {
      fchmodSync(fd, FILE_MODE);
    } finally {
      closeSync(fd);
    }
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      const st = statSync(f);
      if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(f, FILE_MODE);
    } catch {
      // absent, or not ours to change (another user running `status`): SQLite decides as before
    }
  }
}
