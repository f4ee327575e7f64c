import { afterEach, describe, expect, it } from 'vitest';
import { emptyTables } from '../../src/state/empty.js';
import { verifyStore } from '../../src/verify/store.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

const row = (path: string) => ({
  mapping: 'm',
  path,
  size: 1,
  mtimeMs: 1,
  sha256: 'a'.repeat(64),
  assetId: `id-${path}`,
  parentId: null,
  version: 1,
  syncedAt: 1,
  missingSince: null,
});

/** The DELETEs a synced file runs are left out only where they would find nothing. */
describe('tables known empty in a batch', () => {
  it('clears rows written earlier in the same batch, and rows that were there before it', () => {
    const { state } = t.fresh();
    const empty = emptyTables(state.db);
    state.skipped.put('m', 'before', 'a symlink', 1);
    state.db
      .transaction(() =>
        empty.within(() => {
          expect(empty.isEmpty('skipped')).toBe(false);
          expect(empty.isEmpty('kept')).toBe(true);
          state.kept.put({ mapping: 'm', path: 'k', assetId: 'id-k', goneSince: 1 }, 'referenced');
          verifyStore(state.db).putDrift({ mapping: 'm', path: 'k', assetId: 'id-k', kind: 'content', detail: 'd' }, 1);
          state.skipped.clear('m', 'before');
          state.files.recordSynced(row('k')); // the path is back: no longer kept
          verifyStore(state.db).wrote('id-k', 2);
        }),
      )
      .immediate();
    expect(state.skipped.list()).toEqual([]);
    expect(state.kept.get('m', 'k')).toBeUndefined();
    expect(verifyStore(state.db).listDrift()).toEqual([]);
    expect(verifyStore(state.db).fileVersion('id-k')).toBe(2);
  });

  it('knows nothing outside a batch: a row another connection wrote is cleared', () => {
    const { state, file } = t.fresh();
    const empty = emptyTables(state.db);
    state.db.transaction(() => empty.within(() => expect(empty.isEmpty('skipped')).toBe(true))).immediate();
    const other = t.open(file, { recover: false });
    other.skipped.put('m', 'p', 'a symlink', 1);
    expect(empty.isEmpty('skipped')).toBe(false);
    state.skipped.clear('m', 'p');
    expect(other.skipped.list()).toEqual([]);
  });
});
