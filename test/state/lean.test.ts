import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

describe('FilesRepo.listLean', () => {
  it('lists every row of the mapping as path, size, mtime, missing-since, NULL as empty, numbers exact', () => {
    const s = t.open(join(t.dir(), 'state.db'));
    const base = { mapping: 'm', sha256: 'h', assetId: 'a1', parentId: 'p', version: 1, syncedAt: 5, missingSince: null };
    s.files.recordSynced({ ...base, path: 'dir/a b.png', size: 64, mtimeMs: 1795764663217.4307 });
    s.files.recordSynced({ ...base, path: 'gone.png', assetId: 'a2', size: 0, mtimeMs: 12, missingSince: 1700000000000 });
    s.files.reserve('m', 'reserved.png', 'a3');
    s.files.reserve('other', 'x.png', 'a4');
    const flat = s.files.listLean('m');
    const rows = [];
    for (let i = 0; i < flat.length; i += 4) rows.push(flat.slice(i, i + 4));
    expect(rows.sort()).toEqual([
      ['dir/a b.png', '64', '1795764663217.4307', ''],
      ['gone.png', '0', '12.0', '1700000000000'],
      ['reserved.png', '', '', ''],
    ]);
    expect(Number(rows[0][2])).toBe(1795764663217.4307);
    expect(s.files.listLean('none')).toEqual([]);
  });
});
