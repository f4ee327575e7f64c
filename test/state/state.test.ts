import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { tempStates } from '../support/state.js';
import { APPLICATION_ID, SCHEMA_VERSION, stateError, type FileRow } from '../../src/state/index.js';
import { SyncError } from '../../src/lib/errors.js';

const t = tempStates();
afterEach(() => t.cleanup());

function expectSyncError(fn: () => unknown, code: string): SyncError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SyncError);
    expect((e as SyncError).code).toBe(code);
    return e as SyncError;
  }
  throw new Error(`expected SyncError ${code}`);
}

describe('openState', () => {
  it('creates the parent folder, sets durable pragmas, stamps version and application id', () => {
    const file = join(t.dir(), 'deep', 'er', 'state.db');
    const s = t.open(file);
    expect(existsSync(file)).toBe(true);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(s.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(s.db.pragma('temp_store', { simple: true })).toBe(2); // MEMORY: savepoints write no journal file
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(s.check()).toEqual([]);
  });

  it('reopens an existing file without migrating again and keeps data', () => {
    const file = join(t.dir(), 'state.db');
    const a = t.open(file);
    a.meta.set('k', 'v');
    a.close();
    const b = t.open(file);
    expect(b.meta.get('k')).toBe('v');
  });

  it('uses STRICT tables: a wrong type is refused at write time', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    expect(() => s.db.prepare(`INSERT INTO files (mapping, path, asset_id, size) VALUES ('m', 'p', 'x', 'big')`).run()).toThrow(
      /cannot store TEXT/,
    );
  });

  it('refuses a database from a newer version with STATE_TOO_NEW', () => {
    const file = join(t.dir(), 'state.db');
    t.open(file).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const e = expectSyncError(() => t.open(file), 'STATE_TOO_NEW');
    expect(e.message).toContain(file);
    expect(e.hint).toMatch(/Upgrade/);
  });

  it('refuses a file that is not a database with STATE_CORRUPT naming the file and what to do', () => {
    const file = join(t.dir(), 'state.db');
    writeFileSync(file, 'this is not sqlite, just text that is long enough to have a header '.repeat(100));
    const e = expectSyncError(() => t.open(file), 'STATE_CORRUPT');
    expect(e.message).toContain(file);
    expect(e.hint).toMatch(/move .* aside/);
  });

  it('refuses a database with a damaged page with STATE_CORRUPT', () => {
    const file = join(t.dir(), 'state.db');
    const a = t.open(file);
    a.files.batch(() => {
      for (let i = 0; i < 2000; i++) a.files.reserve('m', `some/longer/path/number/${i}.png`, `asset-${i}`);
    });
    a.close(); // checkpoints the WAL into the main file
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * 3);
    closeSync(fd);
    const e = expectSyncError(() => t.open(file), 'STATE_CORRUPT');
    expect(e.message).toContain(file);
  });

  it('maps store errors to SyncErrors with a verdict', () => {
    const full = stateError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), '/x.db', 'enqueueing');
    expect([full.code, full.retry]).toEqual(['STATE_FULL', 'retry']);
    expect(full.cause).toBeInstanceOf(Error);
    const busy = stateError(Object.assign(new Error('locked'), { code: 'SQLITE_BUSY' }), '/x.db', 'claiming');
    expect([busy.code, busy.retry]).toEqual(['STATE_BUSY', 'retry']);
    expect(stateError(Object.assign(new Error('bad'), { code: 'SQLITE_CORRUPT_INDEX' }), '/x.db', 'x').code).toBe('STATE_CORRUPT');
  });

  it("refuses another program's SQLite database", () => {
    const file = join(t.dir(), 'other.db');
    const raw = new Database(file);
    raw.exec('CREATE TABLE theirs (x)');
    raw.close();
    expectSyncError(() => t.open(file), 'STATE_FOREIGN');
  });
});

describe('files', () => {
  const row = (path: string, over: Partial<FileRow> = {}): FileRow => ({
    mapping: 'm',
    path,
    size: 10,
    mtimeMs: 1_700_000_000_123.456,
    sha256: 'h'.repeat(64),
    assetId: `id-${path}`,
    parentId: 'folder',
    version: 1,
    syncedAt: 5,
    missingSince: null,
    ...over,
  });

  it('reserve writes the asset id before the first upload and never replaces it', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    const r = s.files.reserve('m', 'a.png', 'id-1');
    expect(r).toMatchObject({ path: 'a.png', assetId: 'id-1', sha256: null, syncedAt: null });
    expect(s.files.reserve('m', 'a.png', 'id-2').assetId).toBe('id-1'); // a retry keeps the first id
    s.files.recordSynced({ ...r, size: 3, mtimeMs: 7.5, sha256: 'abc', version: 2, syncedAt: 9 });
    expect(s.files.get('m', 'a.png')).toMatchObject({ size: 3, mtimeMs: 7.5, sha256: 'abc', version: 2, syncedAt: 9 });
    expect(s.files.getByAssetId('id-1')?.path).toBe('a.png');
  });

  it('one asset id belongs to one path', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    s.files.reserve('m', 'a', 'same');
    expect(() => s.files.reserve('m', 'b', 'same')).toThrow(/UNIQUE/);
  });

  it('findBySha, rename, markMissing, remove, count', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    s.files.recordSynced(row('a/x.png'));
    s.files.recordSynced(row('b/y.png', { sha256: 'other' }));
    s.files.reserve('m', 'c.png', 'id-c');
    expect(s.files.findBySha('m', 'h'.repeat(64), 10).map((r) => r.path)).toEqual(['a/x.png']);
    expect(s.files.findBySha('m', 'h'.repeat(64), 11)).toEqual([]);
    expect(s.files.findBySha('other', 'h'.repeat(64), 10)).toEqual([]);
    s.files.markMissing('m', 'a/x.png', 100);
    s.files.markMissing('m', 'a/x.png', 200); // the first time seen gone is kept
    expect(s.files.get('m', 'a/x.png')?.missingSince).toBe(100);
    expect(s.files.rename('m', 'a/x.png', 'z/x.png')).toBe(true);
    expect(s.files.get('m', 'z/x.png')).toMatchObject({ assetId: 'id-a/x.png', missingSince: null });
    expect(s.files.get('m', 'a/x.png')).toBeUndefined();
    expect(s.files.rename('m', 'nope', 'q')).toBe(false);
    expect(s.files.count('m')).toBe(3);
    expect(s.files.remove('m', 'c.png')).toBe(true);
    expect(s.files.count('m')).toBe(2);
  });

  it('lists 100k rows of a mapping exactly (the rescan diffs against it in bulk)', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    s.files.batch(() => {
      for (let i = 0; i < 100_000; i++) s.files.recordSynced(row(`d${i % 100}/f${i}.jpg`, { assetId: `a${i}`, size: i }));
      s.files.recordSynced(row('elsewhere', { mapping: 'n', assetId: 'n1' }));
    });
    const all = s.files.list('m');
    expect(all).toHaveLength(100_000);
    expect(all.find((r) => r.path === 'd7/f99907.jpg')).toMatchObject({ size: 99_907, assetId: 'a99907', mtimeMs: 1_700_000_000_123.456 });
  });
});

describe('folder cache and meta', () => {
  it('delete removes the folder and its descendants only', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    for (const p of ['Marketing', 'Marketing/Shared', 'Marketing/Shared/2026', 'Marketing/Shared2', 'Marketing/Shared-x', 'Other'])
      s.folders.set(p, `id:${p}`);
    expect(s.folders.get('Marketing/Shared/2026')).toBe('id:Marketing/Shared/2026');
    s.folders.delete('Marketing/Shared');
    expect(
      ['Marketing', 'Marketing/Shared', 'Marketing/Shared/2026', 'Marketing/Shared2', 'Marketing/Shared-x', 'Other'].map(
        (p) => s.folders.get(p) !== undefined,
      ),
    ).toEqual([true, false, false, true, true, true]);
    s.folders.set('Other', 'new-id');
    expect(s.folders.get('Other')).toBe('new-id');
    s.folders.clear();
    expect(s.folders.get('Other')).toBeUndefined();
  });

  it('meta get/set/delete', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    expect(s.meta.get('paused')).toBeUndefined();
    s.meta.set('paused', '1');
    s.meta.set('paused', '2');
    expect(s.meta.get('paused')).toBe('2');
    s.meta.delete('paused');
    expect(s.meta.get('paused')).toBeUndefined();
  });
});

describe('check', () => {
  it('reports a duplicate asset id even when its index is gone', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    s.files.reserve('m', 'a', 'id-a');
    s.db.exec(`DROP INDEX files_asset`);
    s.files.reserve('m', 'b', 'id-a');
    expect(s.check()).toEqual(['files: asset id id-a belongs to more than one path']);
  });
});

describe('kept assets (deletes: keep)', () => {
  it('forget moves a gone row to kept; stats count per mapping; the path coming back clears it', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    s.files.recordSynced({
      mapping: 'm',
      path: 'a',
      size: 1,
      mtimeMs: 1,
      sha256: 'x',
      assetId: 'A',
      parentId: null,
      version: 1,
      syncedAt: 1,
      missingSince: null,
    });
    s.files.recordSynced({
      mapping: 'm',
      path: 'b',
      size: 1,
      mtimeMs: 1,
      sha256: 'y',
      assetId: 'B',
      parentId: null,
      version: 1,
      syncedAt: 1,
      missingSince: null,
    });
    s.files.reserve('n', 'c', 'C');
    s.files.markMissing('m', 'b', 50);
    expect(Object.fromEntries(s.files.stats())).toEqual({
      m: { inSync: 1, missing: 1, kept: 0, referenced: 0 },
      n: { inSync: 0, missing: 0, kept: 0, referenced: 0 },
    });
    expect(s.files.forget('m', 'b', 99)).toBe(true);
    expect(s.files.forget('m', 'nope', 99)).toBe(false);
    expect(s.files.get('m', 'b')).toBeUndefined();
    expect(s.files.kept()).toEqual([{ mapping: 'm', path: 'b', assetId: 'B', goneSince: 50, reason: null }]);
    expect(s.files.stats().get('m')).toEqual({ inSync: 1, missing: 0, kept: 1, referenced: 0 });
    expect(s.check()).toEqual([]);
    s.files.reserve('m', 'b', 'B2');
    expect(s.files.kept()).toEqual([]);
  });

  it('migrates a version-1 database forward', () => {
    const file = join(t.dir(), 'state.db');
    const a = t.open(file);
    a.files.reserve('m', 'a', 'id');
    a.jobs.enqueueMany([{ mapping: 'm', path: 'a', delayMs: 0 }]);
    // What migrations 2 to 9 add, taken away again: the file as version 1 wrote it.
    a.db.exec(
      'DROP INDEX files_missing; DROP TABLE kept; DROP TABLE stamps; DROP TABLE skipped; DROP TABLE drift; DROP TABLE file_versions; DROP TABLE uploads; DROP TABLE annotations; DROP TABLE sidecars; ALTER TABLE jobs DROP COLUMN asset_hint; ALTER TABLE jobs DROP COLUMN fail_kind',
    );
    a.db.pragma('user_version = 1');
    a.close();
    const b = t.open(file);
    expect(b.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(b.files.kept()).toEqual([]);
    expect(b.skipped.list()).toEqual([]);
    expect(b.uploads.list()).toEqual([]);
    expect(b.files.get('m', 'a')?.assetId).toBe('id');
    // A job queued before the upgrade gets its asset id when it is claimed.
    const [job] = b.jobs.claim('w', 1, {});
    expect(job?.assetHint).toMatch(/^[0-9a-f-]{36}$/);
  });
});
