import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, World } from '../support/world.js';
import { jobsIn } from '../support/state.js';

/**
 * Issue 21, row a: what `once` does before its first upload. The token and the
 * app check go out while the rescan compares the tree with the state, not
 * before it; nothing is made on the server until they passed.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('once: the checks at start', () => {
  it('the rescan queues the files while the token is still on its way', { timeout: 30_000 }, async () => {
    let queuedAtToken = -1;
    world = await World.create({
      server: {
        // The token's answer waits (up to 100 looks) for the rescan to have queued the files.
        onRequest: async (_method, path) => {
          if (!path.includes('/connect/token') || queuedAtToken >= 0 || !world) return;
          for (let i = 0; i < 100 && jobsIn(world.statePath) === 0; i++) await new Promise((r) => setTimeout(r, 50));
          queuedAtToken = jobsIn(world.statePath);
        },
      },
    });
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`d${i % 2}/sub/f${i}.txt`, `file ${i}`);
    const res = await w.run(['once']);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(queuedAtToken).toBe(6);
    expect(liveAssetsByPath(w.inspect()).size).toBe(6);
  });

  it('asks nothing more of an app that is not there, though the rescan queued its files first', { timeout: 30_000 }, async () => {
    let held = false;
    world = await World.create({
      server: {
        // The app check's answer waits (up to 100 looks) for the rescan to have queued the files.
        onRequest: async (method, path) => {
          if (method !== 'GET' || !path.endsWith('/assets/folders') || held || !world) return;
          held = true;
          for (let i = 0; i < 100 && jobsIn(world.statePath) === 0; i++) await new Promise((r) => setTimeout(r, 50));
        },
      },
    });
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`d${i % 2}/sub/f${i}.txt`, `file ${i}`);
    const c = w.config() as { squidex: Record<string, unknown> };
    w.writeConfig({ ...c, squidex: { ...c.squidex, app: 'no-such-app' } });
    const res = await w.run(['once'], 15_000);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/App "no-such-app" was not found/);
    expect(jobsIn(w.statePath)).toBe(6); // the rescan did run meanwhile
    // The folders the rescan would make ahead waited for the check, and it failed: not one was asked for.
    const routes = w.inspect().counters.byRoute;
    expect(Object.keys(routes).filter((r) => r.includes('folders'))).toEqual(['GET /assets/folders']);
    expect(routes['GET /assets/folders']).toBe(1);
  });
  it("lists the root once: the app check's answer is the folder cache's first root listing", { timeout: 30_000 }, async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 4; i++) w.write(`d${i % 2}/sub/f${i}.txt`, `file ${i}`);
    const res = await w.run(['once']);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const routes = w.inspect().counters.byRoute;
    expect(routes['GET /assets/folders']).toBe(1);
    // Design, Design/Shared (the mapped folder), then d0, d0/sub, d1, d1/sub: each made once.
    expect(routes['POST /assets/folders']).toBe(6);
    expect(liveAssetsByPath(w.inspect()).size).toBe(4);
  });
});
