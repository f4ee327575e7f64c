/**
 * The clean-close marker lets the lock holder skip quick_check at open
 * (src/state/clean.ts). It must never hide a file changed since the close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempStates } from '../support/state.js';
import { openState } from '../../src/state/index.js';
import { markClean, takeCleanMark } from '../../src/state/clean.js';
import { SyncError } from '../../src/lib/errors.js';

const t = tempStates();
afterEach(() => t.cleanup());

function filled(file: string): void {
  const s = openState(file);
  s.files.batch(() => {
    for (let i = 0; i < 2000; i++) s.files.reserve('m', `some/longer/path/number/${i}.png`, `asset-${i}`);
  });
  s.close(); // the last connection: checkpoints and removes the WAL
}

function damage(file: string): void {
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * 3);
  closeSync(fd);
}

/** As openRuntime does it. */
const openAsHolder = (file: string) => t.open(file, { verify: !takeCleanMark(file) });

describe('clean-close marker', () => {
  it('is trusted once after a clean close, and consumed at open', () => {
    const file = join(t.dir(), 'state.db');
    filled(file);
    markClean(file);
    expect(existsSync(`${file}.clean`)).toBe(true);
    expect(takeCleanMark(file)).toBe(true);
    expect(existsSync(`${file}.clean`)).toBe(false); // a crash from here on leaves no marker
    expect(takeCleanMark(file)).toBe(false);
  });

  it('does not hide a page damaged after the clean close: STATE_CORRUPT as before', () => {
    const file = join(t.dir(), 'state.db');
    filled(file);
    markClean(file);
    damage(file);
    let err: unknown;
    try {
      openAsHolder(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyncError);
    expect((err as SyncError).code).toBe('STATE_CORRUPT');
  });

  it('(the damage above is one only the check finds at open)', () => {
    const file = join(t.dir(), 'state.db');
    filled(file);
    damage(file);
    expect(() => t.open(file, { verify: false })).not.toThrow();
  });

  it('is not written while another connection keeps commits in the WAL', () => {
    const file = join(t.dir(), 'state.db');
    filled(file);
    const other = new Database(file);
    other.pragma('user_version'); // a connection that has read holds the WAL open
    try {
      const s = openState(file);
      s.meta.set('k', 'v');
      s.close(); // not the last connection: the commit stays in the WAL
      markClean(file);
      expect(existsSync(`${file}.clean`)).toBe(false);
    } finally {
      other.close();
    }
  });

  it('is not trusted when the file was replaced since the close (a restored copy)', () => {
    const file = join(t.dir(), 'state.db');
    filled(file);
    markClean(file);
    copyFileSync(file, `${file}.tmp`);
    renameSync(`${file}.tmp`, file);
    expect(takeCleanMark(file)).toBe(false);
  });
});
