import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import type { Action } from '../../src/worker/context.js';
import { silentLogger } from '../../src/lib/log.js';
import { liveAssetsByPath, uploadRequests, waitFor, World } from '../support/world.js';

/**
 * A file missed before this run's first rescan of its mapping (a delete job
 * queued before a stop, its move window long over) waits for that rescan:
 * only it can see the file's new path. Until then the job is held, never
 * failed, and the row stays, also when the rescan fails.
 */
let world: World | undefined;
let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';

describe('a delete queued before the start rescan', () => {
  it('is held, not failed, while the rescan has not run or failed; then the file’s move is found', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    w.write('x/a.txt', 'moving');
    w.write('x/stays.txt', 'staying');
    w.write('y/here.txt', 'here');
    expect((await w.run(['once'])).code).toBe(0);
    const id = liveAssetsByPath(w.inspect()).get(`${P}/x/a.txt`)!.id;
    const uploads = uploadRequests(w);

    renameSync(join(w.local, 'x/a.txt'), join(w.local, 'y/a.txt'));
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const done: Array<{ action: Action; path: string }> = [];
    rt = openRuntime(config, { logger: silentLogger, events: { action: (action, _m, path) => done.push({ action, path }) } });
    const { state } = rt;
    // What a stop leaves when it comes between the watcher's unlink and its add: the old path missed a minute ago, its job due.
    state.files.markMissing('share', 'x/a.txt', rt.clock.now() - 60_000);
    state.jobs.enqueueMany([{ mapping: 'share', path: 'x/a.txt', reason: 'unlink', delayMs: 0 }]);

    rt.pool.start();
    await expect(rt.rescan(config.mappings[0]!, { signal: AbortSignal.abort(new Error('stopping')) })).rejects.toThrow();
    await waitFor(
      () => done.some((d) => d.path === 'x/a.txt'),
      10_000,
      () => JSON.stringify(done),
    );
    expect(done).toEqual([{ action: 'hold', path: 'x/a.txt' }]);
    expect(state.files.get('share', 'x/a.txt')?.assetId).toBe(id);
    expect(state.jobs.pending(10).map((j) => [j.path, j.state])).toEqual([['x/a.txt', 'queued']]);
    expect(state.jobs.counts().failed).toBe(0);

    await rt.rescan(config.mappings[0]!);
    await rt.pool.idle();
    await rt.pool.stop(5000);
    const live = liveAssetsByPath(w.inspect());
    expect(live.get(`${P}/y/a.txt`)?.id).toBe(id);
    expect(live.has(`${P}/x/a.txt`)).toBe(false);
    expect(uploadRequests(w)).toBe(uploads);
    expect(w.inspect().assets.filter((a) => a.deleted)).toEqual([]);
    expect(done.filter((d) => d.action !== 'hold' && d.action !== 'none')).toEqual([{ action: 'move', path: 'y/a.txt' }]);
  });
});
