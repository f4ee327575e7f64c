import { mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../src/state/index.js';
import { liveAssetsByPath, World } from '../support/world.js';

/**
 * `verify --repair` before a start, after a file was moved while squidex-sync
 * was stopped and its old path's delete was already queued (a stop between the
 * watcher's unlink and its add). Repair rescans nothing, so the delete's move
 * window runs from the first miss, long over: it deleted (or forgot) the asset,
 * and the new path was uploaded as a new asset. Now a delete whose bytes are at
 * a new path of the mapping is held, and the new path's job moves the asset.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';

describe.each(['delete', 'keep'] as const)('verify --repair after a move while stopped (deletes: %s)', (deletes) => {
  it('moves the asset under its id; deletes nothing, uploads nothing', { timeout: 60_000 }, async () => {
    world = await World.create({ mapping: { deletes } });
    const w = world;
    w.write('x/a.txt', 'moving');
    w.write('x/stays.txt', 'staying');
    w.write('y/here.txt', 'here');
    expect((await w.run(['once'])).code).toBe(0);
    const id = liveAssetsByPath(w.inspect()).get(`${P}/x/a.txt`)!.id;
    const { uploads } = w.inspect().counters;

    mkdirSync(dirname(join(w.local, 'y/a.txt')), { recursive: true });
    renameSync(join(w.local, 'x/a.txt'), join(w.local, 'y/a.txt'));
    const state = openState(w.statePath);
    try {
      // What the stop left: the old path missed an hour ago, its delete job queued.
      state.files.markMissing('share', 'x/a.txt', Date.now() - 3_600_000);
      state.jobs.enqueueMany([{ mapping: 'share', path: 'x/a.txt', reason: 'unlink', delayMs: 0 }]);
    } finally {
      state.close();
    }

    const res = await w.run(['verify', '--repair']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('x/a.txt: moved on the share to "y/a.txt"');
    const ins = w.inspect();
    expect(ins.counters.byRoute['DELETE /assets/{id}'] ?? 0).toBe(0);
    expect(ins.counters.uploads).toBe(uploads);
    expect(ins.assets.filter((a) => a.deleted)).toEqual([]);
    const live = liveAssetsByPath(ins);
    expect(live.get(`${P}/y/a.txt`)?.id).toBe(id);
    expect(live.has(`${P}/x/a.txt`)).toBe(false);
    expect(Object.values(ins.createdIds).filter((n) => n > 1)).toEqual([]);
  });
});
