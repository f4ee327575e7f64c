import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { tempStates } from '../support/state.js';
import type { FileRow } from '../../src/state/index.js';

/**
 * The move lookup of a new file is left out when no synced row can have its
 * hash (files-sha.ts). Every row that can have it must still be found.
 */
const t = tempStates();
afterEach(() => t.cleanup());

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const row = (path: string, content: string, over: Partial<FileRow> = {}): FileRow => ({
  mapping: 'm',
  path,
  size: content.length,
  mtimeMs: 1_700_000_000_000,
  sha256: sha(content),
  assetId: `id-${path}`,
  parentId: 'folder',
  version: 1,
  syncedAt: 5,
  missingSince: null,
  ...over,
});
const found = (s: ReturnType<typeof t.open>, content: string, mapping = 'm'): string[] =>
  s.files.findBySha(mapping, sha(content), content.length).map((r) => r.path);

describe('move lookup by hash', () => {
  it('finds rows synced after the mapping was first looked at, alone or in a batch', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    expect(found(s, 'one')).toEqual([]);
    s.files.recordSynced(row('a/one.txt', 'one'));
    expect(found(s, 'one')).toEqual(['a/one.txt']);
    s.files.batch(() => {
      s.files.recordSynced(row('b/two.txt', 'two'));
      expect(found(s, 'two')).toEqual(['b/two.txt']);
    });
    expect(found(s, 'two')).toEqual(['b/two.txt']);
    expect(found(s, 'two', 'other')).toEqual([]);
    // Renamed rows keep their hash and are found at their new path.
    s.files.rename('m', 'a/one.txt', 'c/one.txt');
    expect(found(s, 'one')).toEqual(['c/one.txt']);
  });

  it('finds rows already in the table when the state is opened again', () => {
    const file = join(t.dir(), 'state.db');
    const a = t.open(file);
    a.files.recordSynced(row('a/one.txt', 'one'));
    a.close();
    const b = t.open(file);
    expect(found(b, 'one')).toEqual(['a/one.txt']);
    expect(found(b, 'nine')).toEqual([]);
  });

  it('finds a row another connection committed, once a transaction of this one saw the commit', () => {
    const file = join(t.dir(), 'state.db');
    const s = t.open(file);
    expect(found(s, 'three')).toEqual([]);
    const other = new Database(file);
    try {
      other
        .prepare(
          `INSERT INTO files (mapping, path, size, mtime_ms, sha256, asset_id, parent_id, version, synced_at) VALUES ('m', 'x/three.txt', 5, 1, ?, 'id-x', 'folder', 1, 5)`,
        )
        .run(sha('three'));
    } finally {
      other.close();
    }
    // The pool reads a claim's rows inside the claim's transaction.
    s.files.batch(() => s.files.rowsOf('m', ['x/three.txt']));
    expect(found(s, 'three')).toEqual(['x/three.txt']);
  });

  it('finds rows of a mapping with more synced rows than are read into memory', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    s.files.batch(() => {
      for (let i = 0; i <= 100_000; i++) s.files.recordSynced(row(`d${i % 100}/f${i}`, `content ${i}`));
    });
    expect(found(s, 'content 99999')).toEqual(['d99/f99999']);
    expect(found(s, 'content 7')).toEqual(['d7/f7']);
    expect(found(s, 'content none')).toEqual([]);
  });

  it('a write rolled back leaves nothing to find', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    expect(found(s, 'four')).toEqual([]);
    expect(() =>
      s.files.batch(() => {
        s.files.recordSynced(row('d/four.txt', 'four'));
        throw new Error('undo');
      }),
    ).toThrow('undo');
    expect(found(s, 'four')).toEqual([]);
  });
});
