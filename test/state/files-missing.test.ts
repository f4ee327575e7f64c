import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type FileRow, type State } from '../../src/state/index.js';
import * as SQL from '../../src/state/files-sql.js';
import { tempStates } from '../support/state.js';

/**
 * The live delete guard counts a mapping's missing rows and its rows for
 * every deleted file: neither may read the mapping's every row each time.
 */
const t = tempStates();
afterEach(() => t.cleanup());

const row = (path: string, assetId = `id-${path}`): FileRow => ({
  mapping: 'm',
  path,
  size: 1,
  mtimeMs: 1,
  sha256: 'a'.repeat(64),
  assetId,
  parentId: null,
  version: 1,
  syncedAt: 1,
  missingSince: null,
});

function fill(s: State, n: number, missing: number): void {
  s.files.batch(() => {
    for (let i = 0; i < n; i++) s.files.recordSynced(row(`f${i}`));
    for (let i = 0; i < missing; i++) s.files.markMissing('m', `f${i}`, 100 + i);
  });
}

const plan = (s: State, sql: string, ...params: unknown[]): string =>
  (s.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');

describe('the missing rows of a mapping', () => {
  it('are counted, and the newest found, through the index of missing rows alone', () => {
    const s = t.fresh().state;
    // The queries as FilesRepo runs them: a scan of the mapping's rows would read "USING PRIMARY KEY".
    expect(plan(s, SQL.countMissing, 'm', 0)).toMatch(
      /^SEARCH files USING COVERING INDEX files_missing \(mapping=\? AND missing_since>\?\)$/,
    );
    expect(plan(s, SQL.newestMissing, 'm')).toMatch(/^SEARCH files USING COVERING INDEX files_missing/);
    expect(plan(s, SQL.missingPaths, 'm')).toMatch(/^SEARCH files USING COVERING INDEX files_missing/);
    fill(s, 30, 7);
    expect(s.files.countMissing('m')).toBe(7);
    expect(s.files.countMissing('m', 103)).toBe(3);
    expect(s.files.newestMissing('m')).toBe(106);
    expect(s.files.newestMissing('other')).toBeNull();
    expect(s.files.missingPaths('m').sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6']);
  });

  it('a state file of the version before gains the index when opened, its rows as they were', () => {
    const file = join(t.dir(), 'state.db');
    const a = t.open(file);
    fill(a, 30, 7);
    // The file as version 8 left it.
    a.db.exec('DROP INDEX files_missing');
    a.db.pragma('user_version = 8');
    a.close();
    const b = t.open(file);
    expect(b.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const sql = b.db.prepare(`SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = 'files_missing'`).pluck().get();
    expect(sql).toMatch(/ON files \(mapping, missing_since\) WHERE missing_since IS NOT NULL/);
    expect(plan(b, SQL.countMissing, 'm', 0)).toMatch(/COVERING INDEX files_missing/);
    expect(b.files.countMissing('m')).toBe(7);
    expect(b.files.newestMissing('m')).toBe(106);
    expect(b.files.count('m')).toBe(30);
    expect(b.check()).toEqual([]);
  });
});

describe('the count of a mapping’s rows', () => {
  const truth = (s: State): number => s.db.prepare(`SELECT count(*) FROM files NOT INDEXED WHERE mapping = 'm'`).pluck().get() as number;

  it('follows every write that adds or removes a row, and none that rolled back', () => {
    const s = t.fresh().state;
    fill(s, 10, 3);
    const steps: Array<[string, () => unknown]> = [
      ['reserve a new path', () => s.files.reserve('m', 'new', 'id-new')],
      ['reserve a known path', () => s.files.reserve('m', 'new', 'id-other')],
      ['reserveIfFree', () => s.files.reserveIfFree('m', 'free', 'id-free')],
      ['reserveIfFree, taken', () => s.files.reserveIfFree('m', 'free', 'id-free2')],
      ['recordSynced, new', () => s.files.recordSynced(row('synced'))],
      ['recordSynced, known', () => s.files.recordSynced(row('synced'))],
      ['forget', () => s.files.forget('m', 'f0', 500)],
      ['forget, unknown', () => s.files.forget('m', 'nope', 500)],
      ['takeForDelete', () => s.files.takeForDelete('m', 'f1', 'id-f1')],
      ['remove', () => s.files.remove('m', 'f5')],
      ['rename', () => s.files.rename('m', 'f6', 'f6b')],
      ['in a batch', () => s.files.batch(() => [s.files.recordSynced(row('b1')), s.files.remove('m', 'f7')])],
      [
        'in a batch that rolls back',
        () => {
          try {
            s.files.batch(() => {
              s.files.recordSynced(row('gone-again'));
              s.files.remove('m', 'f8');
              throw new Error('no');
            });
          } catch {}
        },
      ],
      [
        'another connection',
        () => {
          const other = new Database(s.file);
          other.prepare(`DELETE FROM files WHERE mapping = 'm' AND path = 'f9'`).run();
          other.close();
        },
      ],
    ];
    for (const [what, write] of steps) {
      expect(s.files.count('m'), `before: ${what}`).toBe(truth(s));
      write();
      expect(s.files.count('m'), `after: ${what}`).toBe(truth(s));
    }
    // Counted inside a transaction, the figure is not kept past it.
    try {
      s.files.batch(() => {
        s.files.recordSynced(row('rolled'));
        expect(s.files.count('m')).toBe(truth(s));
        throw new Error('no');
      });
    } catch {}
    expect(s.files.count('m')).toBe(truth(s));
  });
});
