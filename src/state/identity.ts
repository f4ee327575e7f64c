import { statSync } from 'node:fs';
import { SyncError } from '../lib/errors.js';

/** Which file a path names: a file deleted or replaced (restored, moved over) gets another inode. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export function identityOf(file: string): FileIdentity {
  const s = statSync(file);
  return { dev: s.dev, ino: s.ino };
}

/**
 * Null while `file` still names the file that was opened; otherwise an error
 * saying what happened. Errors other than "not there" (a blip of the disk)
 * say nothing about which file it is: null, and the next look decides.
 */
export function stateFileLost(file: string, opened: FileIdentity): SyncError | null {
  let now: FileIdentity;
  try {
    now = identityOf(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR') return null;
    return lost(file, 'was deleted', e);
  }
  return now.dev === opened.dev && now.ino === opened.ino ? null : lost(file, 'was replaced by another file');
}

function lost(file: string, what: string, cause?: unknown): SyncError {
  return new SyncError('STATE_LOST', `The state database ${file} ${what} while squidex-sync ran; what it records now would be lost.`, {
    cause,
    hint: 'Stopping (exit 1): started again, it opens the file now at that path, rescans, and adopts the assets already on the server.',
  });
}

/**
 * Looks at the state file's identity every `intervalMs`. SQLite goes on
 * writing to a deleted file without a word, and `status` would read (or
 * create) another one meanwhile. Calls `onLost` once, then stops looking.
 */
export function watchStateFile(file: string, onLost: (e: SyncError) => void, intervalMs = 2000): { close(): void } {
  const opened = identityOf(file);
  const timer = setInterval(() => {
    const e = stateFileLost(file, opened);
    if (!e) return;
    clearInterval(timer);
    onLost(e);
  }, intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
