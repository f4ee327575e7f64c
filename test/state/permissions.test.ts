/**
 * Issue 18 §6: the state folder and database are the daemon user's alone,
 * whatever the umask, and the lock's temp file never writes through a file
 * or symlink that is already there.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, type StateLock } from '../../src/state/index.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
const locks: StateLock[] = [];
let umask: number;
beforeEach(() => {
  // vitest runs each file in a forked process (pool: forks), so this umask is ours alone.
  umask = process.umask(0o000);
});
afterEach(() => {
  process.umask(umask);
  for (const l of locks.splice(0)) l.release();
  t.cleanup();
});

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

describe('state permissions under umask 000', () => {
  it('creates the state folder (and missing parents) 0700 and the database, -wal and -shm 0600', () => {
    const dir = t.dir();
    const file = join(dir, 'a', 'b', 'state.db');
    const state = t.open(file);
    state.meta.set('k', 'v'); // a write: the -wal and -shm exist while the database is open
    expect(existsSync(`${file}-wal`) && existsSync(`${file}-shm`)).toBe(true);
    expect([mode(join(dir, 'a')), mode(join(dir, 'a', 'b'))]).toEqual(['700', '700']);
    expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(['600', '600', '600']);
  });

  it('the lock, taken before the state is opened, creates the folder 0700 too', () => {
    const file = join(t.dir(), 'fresh', 'state.db');
    locks.push(acquireLock(file));
    expect(mode(join(file, '..'))).toBe('700');
  });

  it('leaves an existing folder as it is, and tightens a database an older version left 0644', () => {
    const dir = join(t.dir(), 'shared');
    mkdirSync(dir, { mode: 0o755 });
    const file = join(dir, 'state.db');
    const old = new Database(file); // SQLite's own default: 0644
    old.pragma('journal_mode = WAL');
    old.close();
    expect(mode(file)).toBe('644');
    t.open(file).meta.set('k', 'v');
    expect(mode(dir)).toBe('755');
    expect([mode(file), mode(`${file}-wal`), mode(`${file}-shm`)]).toEqual(['600', '600', '600']);
  });
});

describe('lock takeover temp file', () => {
  it('never writes through a symlink planted at the temp file name', () => {
    const dir = t.dir();
    const file = join(dir, 'state.db');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(`${file}.lock`, JSON.stringify({ pid: Number(dead), hostname: hostname(), procStart: null, startedAt: 0, nonce: 'old' }));
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched');
    // The name the takeover used to write to, with our pid.
    symlinkSync(victim, `${file}.lock.${process.pid}.tmp`);
    const l = acquireLock(file);
    locks.push(l);
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(lstatSync(`${file}.lock`).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(`${file}.lock`, 'utf8')).nonce).toBe(l.holder.nonce);
    // Nothing of ours left behind beside the planted link.
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([`state.db.lock.${process.pid}.tmp`]);
  });
});
