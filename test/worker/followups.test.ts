import { afterEach, describe, expect, it } from 'vitest';
import { followUps } from '../../src/worker/followups.js';
import type { MappingRuntime } from '../../src/worker/mapping.js';
import { tempStates } from '../support/state.js';

const states = tempStates();
afterEach(() => states.cleanup());

const mapping: MappingRuntime = { name: 'm', local: '/x', remote: 'R', deletes: 'keep', permanentDeletes: false };

function fill(state: ReturnType<typeof states.fresh>['state'], paths: string[]): void {
  state.db.transaction(() => {
    for (const [i, path] of paths.entries()) {
      state.files.recordSynced({
        mapping: 'm',
        path,
        size: 1,
        mtimeMs: 1,
        sha256: `${i}`.padStart(64, '0'),
        assetId: `00000000-0000-0000-0000-${`${i}`.padStart(12, '0')}`,
        parentId: null,
        version: 0,
        syncedAt: 1,
        missingSince: null,
      });
    }
  })();
}

describe('a change of the tag settings', () => {
  it('re-annotates every synced file of the mapping, read a page at a time, sidecars left out', () => {
    const { state } = states.fresh();
    // More rows than a page holds (1,024), and names that sort across pages.
    const paths = Array.from({ length: 2_600 }, (_, i) => `f${i % 7}/${i}.bin`);
    fill(state, [...paths, 'f0/raw.xmp']);
    const limits: number[] = [];
    const walk = { entries: new Set<string>(), sidecars: null, rootMissing: false };
    const out = followUps({ ...mapping, tags: ['brand'] }, walk, [], {
      rows: (after, limit) => {
        limits.push(limit);
        return state.files.listAfter('m', after, limit);
      },
      state,
    });
    const queued = out.jobs.filter((j) => j.reason === 'annotate').map((j) => j.path);
    expect(queued.sort()).toEqual([...paths].sort());
    expect(limits.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...limits)).toBeLessThan(paths.length);

    // Recorded: the same settings next time queue nothing and read no row.
    out.commit();
    limits.length = 0;
    const again = followUps({ ...mapping, tags: ['brand'] }, walk, [], {
      rows: (after, limit) => {
        limits.push(limit);
        return state.files.listAfter('m', after, limit);
      },
      state,
    });
    expect(again.jobs).toEqual([]);
    expect(limits).toEqual([]);
  });

  it('hands each annotate job to the caller as its page is read, holding none of them', () => {
    const { state } = states.fresh();
    const paths = Array.from({ length: 2_600 }, (_, i) => `f${i % 7}/${i}.bin`);
    fill(state, paths);
    const taken: string[] = [];
    const walk = { entries: new Set<string>(), sidecars: null, rootMissing: false };
    const out = followUps({ ...mapping, tags: ['brand'] }, walk, [], {
      rows: (after, limit) => state.files.listAfter('m', after, limit),
      state,
      annotate: (p) => void taken.push(p),
    });
    expect(out.jobs).toEqual([]);
    expect(taken.sort()).toEqual([...paths].sort());
  });
});
