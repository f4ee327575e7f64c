import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SyncError } from '../lib/errors.js';
import { ensurePrivateDir } from './private.js';

export interface LockHolder {
  pid: number;
  hostname: string;
  /**
   * When the process started, so a reused pid is not mistaken for the holder:
   * Linux /proc ticks, or `ps:` and the start time `ps` prints (macOS, or Linux
   * without /proc); null where neither can be read (Windows: the pid alone).
   */
  procStart: string | null;
  startedAt: number;
  nonce: string;
}

export interface StateLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): void;
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks; null without /proc. */
function procTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** `ps:` + the start time `ps` prints for the pid (to the second); null when there is no `ps` or no such process. */
export function psStart(pid: number): string | null {
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return out === '' ? null : `ps:${out}`;
  } catch {
    return null;
  }
}

/** This process's start stamp: /proc on Linux, then `ps` (macOS, or no /proc); none on Windows. */
function procStart(pid: number, platform = process.platform): string | null {
  if (platform === 'win32') return null;
  return (platform === 'linux' ? procTicks(pid) : null) ?? psStart(pid);
}

/** Same host: is the holder's pid alive and, where a start stamp can be read in the holder's own form, the same process? */
function alive(h: LockHolder): boolean {
  if (h.hostname !== hostname()) return true; // cannot see another host's processes: assume alive
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.procStart === null) return true;
  // Compared only in the form the holder wrote: ticks against a `ps` time would look like pid reuse.
  const now = h.procStart.startsWith('ps:') ? psStart(h.pid) : procTicks(h.pid);
  return now === null || now === h.procStart;
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : null;
  } catch {
    return null; // half-written by a crash, or vanished: treated as stale
  }
}

/** A lock file with no holder in it is still being written for this long after its creation, at most. */
const WRITING_MS = 5_000;
const WRITING_POLL_MS = 20;

function beingWritten(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < WRITING_MS;
  } catch {
    return false; // gone: the next round creates it
  }
}

/** acquireLock is synchronous (the daemon takes it before anything else runs): a short wait without the event loop. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function writeExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new SyncError('STATE_LOCK_IO', `cannot create lock file ${file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function lockedError(file: string, h: LockHolder): SyncError {
  const where = h.hostname === hostname() ? '' : ` on host ${h.hostname}`;
  return new SyncError('STATE_LOCKED', `state is in use by squidex-sync pid ${h.pid}${where} (lock ${file}).`, {
    hint:
      h.hostname === hostname()
        ? `Stop that process first (kill ${h.pid}), or point this one at another state file.`
        : `If that host no longer runs squidex-sync, delete ${file}.`,
  });
}

/**
 * One daemon per state file. The lock file `<state>.lock` is created with
 * O_EXCL, so of two starters exactly one wins. A lock whose holder is dead is
 * taken over by rename (atomic), under a short-lived O_EXCL `.takeover` file so
 * two restarters cannot both decide the lock is stale and both win.
 */
export function acquireLock(stateFile: string): StateLock {
  const file = `${stateFile}.lock`;
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    procStart: procStart(process.pid),
    startedAt: Math.round(Date.now() - process.uptime() * 1000),
    nonce: randomBytes(8).toString('hex'),
  };
  const text = `${JSON.stringify(me)}\n`;
  // The daemon locks before it opens the state, so on a first run the folder may not exist yet.
  ensurePrivateDir(dirname(file));
  for (let round = 0, waits = 0; round < 3; ) {
    if (writeExclusive(file, text)) return held(file, me);
    const h = readHolder(file);
    if (h && alive(h)) throw lockedError(file, h);
    // Empty and young: its creator is between its create and its write. Taken over as stale, that
    // starter and this one would both hold the state (seen as "keeps changing it" in a loaded race).
    if (h === null && beingWritten(file) && waits++ < WRITING_MS / WRITING_POLL_MS) {
      pause(WRITING_POLL_MS);
      continue;
    }
    if (takeOver(file, text, h)) return held(file, me);
    round++;
  }
  throw new SyncError('STATE_LOCKED', `could not acquire ${file}: another process keeps changing it.`, { retry: 'retry' });
}

function takeOver(file: string, text: string, seen: LockHolder | null): boolean {
  const guard = `${file}.takeover`;
  if (!writeExclusive(guard, text)) {
    // A guard whose writer is dead (killed mid-takeover), or older than a few seconds, is
    // stale. Waiting out the age alone made every start in the next 10 s fail with
    // STATE_LOCKED after a kill -9 at that moment (seen in the crash-loop test under load).
    try {
      const g = readHolder(guard);
      if ((g !== null && !alive(g)) || Date.now() - statSync(guard).mtimeMs > 10_000) unlinkSync(guard);
    } catch {
      /* gone already */
    }
    return false;
  }
  try {
    const now = readHolder(file);
    // Someone else replaced the lock since we looked: start over rather than steal it.
    if ((now?.nonce ?? null) !== (seen?.nonce ?? null)) return false;
    // Exclusive and unguessable: a file or symlink already at this name is never written through.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    let fd: number;
    try {
      fd = openSync(tmp, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new SyncError('STATE_LOCK_IO', `cannot create ${tmp}: ${(e as Error).message}`, { cause: e });
    }
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return true;
  } finally {
    unlinkSync(guard);
  }
}

/** The live holder of a state file's lock, or null when no daemon holds it (absent or stale). */
export function readLockHolder(stateFile: string): LockHolder | null {
  const h = readHolder(`${stateFile}.lock`);
  return h && alive(h) ? h : null;
}

function held(file: string, me: LockHolder): StateLock {
  let released = false;
  return {
    file,
    holder: me,
    release() {
      if (released) return;
      released = true;
      // Only remove the file if it is still ours; never delete a successor's lock.
      if (readHolder(file)?.nonce === me.nonce) {
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
