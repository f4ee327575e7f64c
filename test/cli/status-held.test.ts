import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../src/state/index.js';
import { World } from '../support/world.js';

/**
 * A deletion waiting (the move window, the start rescan, the rest of its
 * deletion) has a queued job for its path: `status` shows it as held, and
 * only as held, not among the files waiting to be synced.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Report {
  mappings: Array<{ pending: number; heldDeletes: number }>;
  totals: { pending: number };
  pending: Array<{ path: string }>;
}

describe('status and held deletions', () => {
  it('counts a delete whose job waits as held, not as pending', { timeout: 60_000 }, async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (const n of ['gone.txt', 'edited.txt', 'same.txt']) w.write(n, `content of ${n}`);
    expect((await w.run(['once'])).code).toBe(0);
    w.rm('gone.txt');
    w.write('edited.txt', 'new content');
    const state = openState(w.statePath);
    try {
      // What a daemon leaves while it waits: the gone file marked missing, its job due after the wait; an edit queued.
      state.files.markMissing('share', 'gone.txt', Date.now());
      state.jobs.enqueueMany([
        { mapping: 'share', path: 'gone.txt', reason: 'unlink', delayMs: 30_000 },
        { mapping: 'share', path: 'edited.txt', reason: 'change', delayMs: 30_000 },
      ]);
    } finally {
      state.close();
    }

    const res = await w.run(['status', '--json']);
    const report = JSON.parse(res.stdout) as Report;
    expect(report.mappings[0]).toMatchObject({ pending: 1, heldDeletes: 1 });
    expect(report.totals.pending).toBe(1);
    expect(report.pending.map((p) => p.path)).toEqual(['edited.txt']);
  });
});
