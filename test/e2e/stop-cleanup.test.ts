import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../src/state/index.js';
import { hangs, stopsCleanly } from '../support/stop.js';
import { waitFor, World } from '../support/world.js';

/**
 * Clean-up requests a stop may meet on the wire, as in stop-requests.test.ts:
 * the removal of asset folders left empty, and the drop of an unfinished tus
 * upload. Each takes the stop's signal: the request is cut, the stop ends by
 * itself before the hard stop, and nothing reports a failure. The test server
 * reads such a request and never answers.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a stop while empty asset folders are removed', () => {
  it('cuts the removal and says no failure; the next start removes the folder', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'DELETE' && path.includes('/assets/folders/'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events', deletes: 'delete' }, server: h.server });
    const w = world;
    w.write('sub/a.txt', 'in a folder that goes');
    w.write('stays.txt', 'stays');
    const daemon = w.startDaemon();
    for (const p of ['sub/a.txt', 'stays.txt']) await daemon.waitForLog((l) => l.action === 'upload' && l.path === p, 30_000);
    h.on = true;
    w.rm('sub');
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no folder removal; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    const said = await stopsCleanly(daemon);
    expect(said.filter((m) => m.startsWith('removing empty asset folders failed'))).toEqual([]);
    const sub = () => w.inspect().folders.find((f) => f.folderName === 'sub');
    expect(sub()?.deleted).toBe(false);

    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => sub()?.deleted === true,
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while an unfinished tus upload is dropped', () => {
  it('cuts the DELETE; the upload is still recorded, for the next start to drop', { timeout: 90_000 }, async () => {
    let stage: 'patch' | 'drop' | 'off' = 'off';
    let asked = 0;
    const server = {
      tus: true,
      onRequest: (method: string, path: string): Promise<void> | undefined => {
        const hit = path.includes('/assets/tus/') && (stage === 'patch' ? method === 'PATCH' : stage === 'drop' && method === 'DELETE');
        if (!hit) return undefined;
        asked += 1;
        return new Promise<void>(() => undefined);
      },
    };
    world = await World.create({
      sync: { shutdownTimeoutMs: 1000 },
      mapping: { watch: 'events' },
      server,
      extra: { upload: { tusAboveBytes: '256KiB', chunkBytes: '256KiB' } },
    });
    const w = world;
    w.write('small.txt', 'small');
    // An upload that hangs at its first piece and is cut by the stop: its tus upload stays recorded.
    stage = 'patch';
    w.write('big.bin', Buffer.alloc(1024 * 1024, 7));
    const daemon = w.startDaemon();
    await waitFor(
      () => asked > 0,
      30_000,
      () => `no tus upload; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    const recorded = (): number => {
      const state = openState(w.statePath, { recover: false });
      try {
        return state.uploads.list(10).length;
      } finally {
        state.close();
      }
    };
    expect(recorded()).toBe(1);

    // Now small: it goes as one request, and the unfinished upload is dropped first, a DELETE that hangs.
    w.write('big.bin', 'now small');
    stage = 'drop';
    asked = 0;
    const again = w.startDaemon();
    await waitFor(
      () => asked > 0,
      30_000,
      () => `no drop; stdout:\n${again.stdout.slice(-3000)}`,
    );
    await stopsCleanly(again);
    expect(recorded()).toBe(1);
  });
});
