/**
 * Issue 13: `once` rides out blips up to squidex.connectTimeoutSeconds, exits 3
 * at once for a refused secret, and exits 3 (not 1) for an outage past the
 * bound, keeping the queue for the next run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';
import { mirror } from '../support/reliability.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const FAST = { backoffBaseMs: 200, backoffMaxMs: 1000 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function withSquidex(w: World, extra: Record<string, unknown>): void {
  const c = w.config() as { squidex: Record<string, unknown> };
  w.writeConfig({ ...c, squidex: { ...c.squidex, ...extra } });
}

describe('once and a Squidex that does not answer properly', () => {
  it('rides out 4 s of 503 answers, then 429 without Retry-After: exit 0, mirrored', { timeout: 90_000 }, async () => {
    world = await World.create({ sync: FAST });
    const w = world;
    for (let i = 0; i < 5; i++) w.write(`f${i}.txt`, `file ${i}`);
    w.server.setFaults({ forceStatus: 503 });
    const running = w.run(['once'], 60_000);
    await sleep(4000);
    w.server.setFaults({ forceStatus: 429, retryAfterSec: null });
    await sleep(1500);
    w.server.setFaults({ forceStatus: null });
    const res = await running;
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(w.inspect().counters.faults).toBeGreaterThan(2);
    mirror(w);
  });

  it('a refused secret exits 3 at once: the token is asked for once, not retried for the minute', { timeout: 30_000 }, async () => {
    world = await World.create({ sync: FAST });
    const w = world;
    w.write('a.txt', 'a');
    const c = w.config() as { squidex: Record<string, unknown> };
    w.writeConfig({ ...c, squidex: { ...c.squidex, clientSecret: 'wrong-secret-value', connectTimeoutSeconds: 60 } });
    const res = await w.run(['once'], 15_000);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/refused the client id "demo:sync"/);
    expect(w.inspect().counters.byRoute).toEqual({ 'POST /token': 1 });
  });

  it('Squidex gone mid-run past connectTimeoutSeconds: exit 3 naming the last error, the queue kept, the next run goes on', {
    timeout: 90_000,
  }, async () => {
    world = await World.create({ sync: { ...FAST, concurrency: 2, maxAttempts: 2 }, server: { faults: { latencyMs: 40 } } });
    const w = world;
    withSquidex(w, { connectTimeoutSeconds: 2 });
    for (let i = 0; i < 30; i++) w.write(`f${i}.txt`, `file ${i}`);
    const running = w.run(['once'], 60_000);
    await waitFor(() => liveAssetsByPath(w.inspect()).size >= 2, 30_000);
    await w.server.stopListening();
    const res = await running;
    expect(res.code, res.stdout + res.stderr).toBe(3);
    expect(res.stderr).toMatch(
      /cannot reach Squidex: it has not answered for 2 s \(squidex\.connectTimeoutSeconds\)\. Last error: .*ECONNREFUSED/,
    );
    expect(res.stderr).toMatch(/stay queued/);
    const st = JSON.parse((await w.run(['status', '--json'])).stdout) as { totals: { pending: number; failed: number } };
    expect(st.totals.failed).toBe(0);
    expect(st.totals.pending).toBeGreaterThan(0);

    await w.server.listen();
    const again = await w.run(['once'], 60_000);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    mirror(w);
  });
});
