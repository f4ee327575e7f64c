import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { liveAssetsByPath, uploadRequests, World } from '../support/world.js';

/**
 * A watcher that reports a renamed folder only as its files (no folder
 * events, or late ones): the workers see new files whose content vanished
 * from another folder, with no rescan in between. They still rename the
 * asset folder as one.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';
const route = (w: World, key: string): number => w.inspect().counters.byRoute[key] ?? 0;

describe('a folder renamed, seen file by file by the workers', () => {
  it('is renamed on the server as one folder, even after a worker made the new folder for its first file', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`shots/day/s${i}.png`, `shot ${i}`);
    w.write('other.txt', 'other');
    expect((await w.run(['once'])).code).toBe(0);
    const shots = w.inspect().folders.find((f) => f.folderName === 'shots')!;
    const before = new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k, a.id]));
    w.server.resetCounters();

    renameSync(join(w.local, 'shots'), join(w.local, 'takes'));
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const rt = openRuntime(config, { logger: silentLogger });
    try {
      // Only the new files, as add events: no rescan, no folder event.
      rt.state.jobs.enqueueMany(
        Array.from({ length: 6 }, (_, i) => ({ mapping: 'share', path: `takes/day/s${i}.png`, reason: 'add', delayMs: 0 })),
      );
      rt.pool.start();
      await rt.pool.idle();
      await rt.pool.stop(5000);
    } finally {
      await rt.close();
    }

    const live = w.inspect().folders.filter((f) => !f.deleted && f.folderName === 'takes');
    expect(live.map((f) => f.id)).toEqual([shots.id]);
    expect(route(w, 'PUT /assets/folders/{id}')).toBe(1);
    expect(route(w, 'PUT /assets/{id}/parent')).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    const after = new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k, a.id]));
    for (let i = 0; i < 6; i++) expect(after.get(`${P}/takes/day/s${i}.png`)).toBe(before.get(`${P}/shots/day/s${i}.png`));
    expect(after.size).toBe(before.size);
  });
});
