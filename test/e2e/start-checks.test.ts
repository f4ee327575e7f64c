import { utimesSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, uploadRequests, waitFor, World } from '../support/world.js';
import { jobsIn } from '../support/state.js';

/**
 * Issue 21: what `start` does before it runs. The token and the app check go
 * out while the watchers start and the start rescan compares the tree, not
 * before them; no job is taken and nothing is made on the server until they passed.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The server's answer to the first request on `route` waits (up to 100 looks) for the start rescan to have queued files. */
function holdFirst(route: (method: string, path: string) => boolean, seen: { queued: number }) {
  return async (method: string, path: string): Promise<void> => {
    if (!route(method, path) || seen.queued >= 0 || !world) return;
    seen.queued = 0;
    for (let i = 0; i < 100 && jobsIn(world.statePath) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    seen.queued = jobsIn(world.statePath);
  };
}

/**
 * Six files a minute old: past the stability window, so the start rescan queues all of them in its
 * first commit. Just written, those it reached within the window (300 ms) would wait in the
 * stability gate and be queued later, and the count seen at the held request would be short.
 */
function writeQuiet(w: World): void {
  const past = new Date(Date.now() - 60_000);
  for (let i = 0; i < 6; i++) utimesSync(w.write(`d${i % 2}/sub/f${i}.txt`, `file ${i}`), past, past);
}

describe('start: the checks at start', () => {
  it('the start rescan queues the files while the token is still on its way, then uploads them', { timeout: 30_000 }, async () => {
    const atToken = { queued: -1 };
    world = await World.create({ server: { onRequest: holdFirst((_m, p) => p.includes('/connect/token'), atToken) } });
    const w = world;
    writeQuiet(w);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size === 6,
      20_000,
      () => d.stderr + d.stdout.slice(-3000),
    );
    expect(atToken.queued).toBe(6);
    expect(await d.stop()).toBe(0);
  });

  it('a missing app exits 3 naming it, after the rescan ran, with no folder made and no upload', { timeout: 30_000 }, async () => {
    const atCheck = { queued: -1 };
    world = await World.create({ server: { onRequest: holdFirst((m, p) => m === 'GET' && p.endsWith('/assets/folders'), atCheck) } });
    const w = world;
    writeQuiet(w);
    const c = w.config() as { squidex: Record<string, unknown> };
    w.writeConfig({ ...c, squidex: { ...c.squidex, app: 'no-such-app' } });
    const d = w.startDaemon();
    const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code, d.stderr + d.stdout.slice(-3000)).toBe(3);
    expect(d.stderr).toMatch(/App "no-such-app" was not found/);
    expect(atCheck.queued).toBe(6); // the rescan did run meanwhile
    const routes = w.inspect().counters.byRoute;
    expect(Object.keys(routes).filter((r) => r.includes('folders'))).toEqual(['GET /assets/folders']);
    expect(routes['GET /assets/folders']).toBe(1);
    expect(Object.keys(routes).filter((r) => r.includes('POST'))).toEqual(['POST /token']);
  });

  it('a stop while the token is on its way takes no job: exit 0, nothing uploaded, the files still queued', {
    timeout: 30_000,
  }, async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    world = await World.create({
      server: {
        // The token's answer waits until the test has seen the daemon stopping (bounded by the test's own timeout).
        onRequest: async (_method, path) => {
          if (path.includes('/connect/token')) await Promise.race([held, new Promise((r) => setTimeout(r, 20_000))]);
        },
      },
    });
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`d${i % 2}/sub/f${i}.txt`, `file ${i}`);
    const d = w.startDaemon();
    await waitFor(
      () => jobsIn(w.statePath) === 6,
      20_000,
      () => d.stderr + d.stdout.slice(-3000),
    );
    d.child.kill('SIGTERM');
    await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('stopping'));
    release();
    const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    expect(code, d.stderr + d.stdout.slice(-3000)).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    expect(jobsIn(w.statePath)).toBe(6);
  });
});
