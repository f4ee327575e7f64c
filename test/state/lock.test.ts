import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { tempStates } from '../support/state.js';
import { acquireLock, readLockHolder, type StateLock } from '../../src/state/index.js';
import { psStart } from '../../src/state/lock.js';
import { SyncError } from '../../src/lib/errors.js';

const t = tempStates();
const locks: StateLock[] = [];
afterEach(() => {
  for (const l of locks.splice(0)) l.release();
  t.cleanup();
});

function take(file: string): StateLock {
  const l = acquireLock(file);
  locks.push(l);
  return l;
}

/** A pid that surely belongs to no process: a child that already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('acquireLock', () => {
  it('writes the holder next to the state file and refuses a second holder naming the pid', () => {
    const file = join(t.dir(), 'state.db');
    const l = take(file);
    const holder = JSON.parse(readFileSync(`${file}.lock`, 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, nonce: l.holder.nonce });
    try {
      acquireLock(file);
      throw new Error('second lock was granted');
    } catch (e) {
      expect(e).toBeInstanceOf(SyncError);
      expect((e as SyncError).code).toBe('STATE_LOCKED');
      expect((e as SyncError).message).toContain(`pid ${process.pid}`);
    }
  });

  it('creates the state folder on a first run', () => {
    const file = join(t.dir(), 'not', 'yet', 'state.db');
    take(file);
    expect(existsSync(`${file}.lock`)).toBe(true);
  });

  it('release removes the lock so the next start succeeds', () => {
    const file = join(t.dir(), 'state.db');
    take(file).release();
    expect(existsSync(`${file}.lock`)).toBe(false);
    take(file);
  });

  it('takes over a stale lock whose holder is dead', () => {
    const file = join(t.dir(), 'state.db');
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: deadPid(), hostname: hostname(), procStart: null, startedAt: 0, nonce: 'old' }));
    const l = take(file);
    expect(JSON.parse(readFileSync(`${file}.lock`, 'utf8')).nonce).toBe(l.holder.nonce);
  });

  it('takes over a stale lock at once when the takeover guard was left by a process killed mid-takeover', () => {
    const file = join(t.dir(), 'state.db');
    const dead = (nonce: string): string => JSON.stringify({ pid: deadPid(), hostname: hostname(), procStart: null, startedAt: 0, nonce });
    writeFileSync(`${file}.lock`, dead('old'));
    writeFileSync(`${file}.lock.takeover`, dead('guard')); // fresh: the 10 s age rule alone would refuse
    const l = take(file);
    expect(JSON.parse(readFileSync(`${file}.lock`, 'utf8')).nonce).toBe(l.holder.nonce);
    expect(existsSync(`${file}.lock.takeover`)).toBe(false);
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse)', () => {
    const file = join(t.dir(), 'state.db');
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, hostname: hostname(), procStart: '1', startedAt: 0, nonce: 'old' }));
    if (process.platform === 'linux') expect(take(file).holder.pid).toBe(process.pid);
  });

  // macOS has no /proc: the holder's start time comes from `ps`, and is checked the same way.
  it('a holder stamped by `ps` holds while that process runs, and is taken over once its pid is reused', () => {
    const file = join(t.dir(), 'state.db');
    const stamp = psStart(process.pid);
    expect(stamp).toMatch(/^ps:\w{3} /);
    writeFileSync(
      `${file}.lock`,
      JSON.stringify({ pid: process.pid, hostname: hostname(), procStart: stamp, startedAt: 0, nonce: 'live' }),
    );
    expect(() => take(file)).toThrowError(/state is in use by squidex-sync pid/);
    writeFileSync(
      `${file}.lock`,
      JSON.stringify({ pid: process.pid, hostname: hostname(), procStart: 'ps:Thu Jan  1 00:00:00 1970', startedAt: 0, nonce: 'old' }),
    );
    expect(take(file).holder.nonce).not.toBe('old');
  });

  // Windows has neither /proc nor `ps`: the pid alone decides.
  it('a holder without a start stamp holds while its pid is alive', () => {
    const file = join(t.dir(), 'state.db');
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, hostname: hostname(), procStart: null, startedAt: 0, nonce: 'live' }));
    expect(() => take(file)).toThrowError(/state is in use by squidex-sync pid/);
    expect(readLockHolder(file)?.nonce).toBe('live');
  });

  it('takes over a half-written lock file left by a crash', () => {
    const file = join(t.dir(), 'state.db');
    writeFileSync(`${file}.lock`, '{"pid": 12');
    const past = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, past, past);
    take(file);
  });

  it('waits for a fresh empty lock file to get its holder instead of taking it over', async () => {
    const file = join(t.dir(), 'state.db');
    // A starter that created the lock and has not written it yet; it writes its holder a moment later.
    writeFileSync(`${file}.lock`, '');
    const holder = JSON.stringify({ pid: process.pid, hostname: hostname(), procStart: null, startedAt: 0, nonce: 'starter' });
    const writer = new Worker(
      `const { workerData: d } = require('node:worker_threads'); setTimeout(() => require('node:fs').writeFileSync(d.file, d.holder), 300);`,
      { eval: true, workerData: { file: `${file}.lock`, holder } },
    );
    try {
      expect(() => take(file)).toThrowError(/state is in use by squidex-sync pid/);
      expect(readLockHolder(file)?.nonce).toBe('starter');
    } finally {
      await writer.terminate();
    }
  });

  it('does not guess about a lock held on another host', () => {
    const file = join(t.dir(), 'state.db');
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: 1, hostname: 'elsewhere', procStart: null, startedAt: 0, nonce: 'x' }));
    expect(() => acquireLock(file)).toThrow(/pid 1 on host elsewhere/);
  });

  it("release never deletes a successor's lock", () => {
    const file = join(t.dir(), 'state.db');
    const l = take(file);
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: 1, hostname: 'h', procStart: null, startedAt: 0, nonce: 'successor' }));
    l.release();
    expect(existsSync(`${file}.lock`)).toBe(true);
  });

  it('readLockHolder names a live holder and ignores absent or stale locks', () => {
    const file = join(t.dir(), 'state.db');
    expect(readLockHolder(file)).toBeNull();
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: deadPid(), hostname: hostname(), procStart: null, startedAt: 0, nonce: 'old' }));
    expect(readLockHolder(file)).toBeNull();
    const l = take(file);
    expect(readLockHolder(file)).toMatchObject({ pid: process.pid, nonce: l.holder.nonce });
  });
});
