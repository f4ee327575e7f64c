/**
 * Scenarios 3, 4 and 5 of issue 6: the server misbehaves (fault storm with token
 * expiry, down for a while, a request that never answers). The daemon must get
 * everything across by itself, with a bounded number of requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, World } from '../support/world.js';
import { FAST_RETRY, FULL, mirror, seeded, sleep, waitMirror } from '../support/reliability.js';

let worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds) await w.close();
  worlds = [];
});

async function world(opts: Parameters<typeof World.create>[0]): Promise<World> {
  const w = await World.create(opts);
  worlds.push(w);
  return w;
}

function fillTree(w: World, files: number): void {
  for (let i = 0; i < files; i++) w.write(`d${i % 8}/e${i % 3}/file-${i}.bin`, Buffer.alloc(2048 + ((i * 997) % 60_000), i % 251));
}

describe('fault storm', () => {
  const files = FULL ? 300 : 30;
  it(`syncs ${files} files through 20% 5xx, 10% 429, 5% resets mid-body, latency spikes and expiring tokens, with bounded retries`, {
    timeout: FULL ? 600_000 : 120_000,
  }, async () => {
    // The minimal number of requests: the same tree against a server without faults.
    const calm = await world({ sync: { ...FAST_RETRY } });
    fillTree(calm, files);
    const base = await calm.run(['once'], 120_000);
    expect(base.code, base.stderr).toBe(0);
    const minimal = calm.inspect().counters.requests;

    const w = await world({
      server: {
        tokenLifetimeSec: 3,
        seed: 66,
        faults: { rate5xx: 0.2, rate429: 0.1, retryAfterSec: 1, resetRate: 0.05, latencySpikeRate: 0.05, latencySpikeMs: 1000 },
      },
      sync: { ...FAST_RETRY, maxAttempts: 100 },
    });
    w.writeConfig({ ...w.config(), squidex: { ...(w.config().squidex as object), timeoutSeconds: 10 } });
    fillTree(w, files);
    const d = w.startDaemon();
    // Half the storm answers 429/503 with Retry-After, half without (the daemon must back off on its own).
    const coin = seeded(67);
    const flip = setInterval(() => {
      w.server.setFaults({ retryAfterSec: coin() < 0.5 ? null : 1 });
    }, 1500);
    try {
      await waitMirror(w, FULL ? 500_000 : 100_000, {}, d);
    } finally {
      clearInterval(flip);
    }
    expect(await d.stop()).toBe(0);
    const c = w.inspect().counters;
    const ratio = c.requests / minimal;
    console.log(
      `fault storm: ${files} files, ${c.requests} requests (${c.faults} faulted, ${c.tokens} tokens) vs ${minimal} without faults: ratio ${ratio.toFixed(2)}`,
    );
    expect(c.faults).toBeGreaterThan(0);
    expect(c.tokens).toBeGreaterThan(1);
    // ~35% of requests fail; each failure costs one retry (plus a token now and then). 4x would be hammering.
    expect(ratio).toBeLessThan(4);
    mirror(w);
  });
});

describe('server down mid-sync', () => {
  it('recovers by itself when the server comes back, with no operator step', { timeout: 120_000 }, async () => {
    const w = await world({ sync: { ...FAST_RETRY }, server: { faults: { latencyMs: 20 } } });
    fillTree(w, FULL ? 400 : 80);
    const d = w.startDaemon();
    // Down in the middle: some files are across, most are not.
    await waitFor(() => w.inspect().assets.length >= 10, 30_000);
    w.server.setFaults({ down: true });
    // Down long enough for every worker to fail several times and for back-off to grow to its cap.
    await sleep(4000);
    const during = w.inspect().assets.length;
    // The outage really hit the middle of the sync: not everything was across yet.
    expect(during).toBeLessThan(FULL ? 400 : 80);
    w.write('written-while-down.txt', 'the server was down');
    w.server.setFaults({ down: false, latencyMs: 0 });
    await waitMirror(w, 90_000);
    expect(await d.stop()).toBe(0);
    console.log(`server down: ${during} assets when it went down, all ${w.inspect().assets.length} after`);
    mirror(w);
  });
});

describe('a request that never answers', () => {
  it('times out, frees the worker and retries the job', { timeout: 120_000 }, async () => {
    const w = await world({ sync: { ...FAST_RETRY, concurrency: 2 } });
    w.writeConfig({ ...w.config(), squidex: { ...(w.config().squidex as object), timeoutSeconds: 1 } });
    fillTree(w, FULL ? 60 : 15);
    // One request in ten is accepted and never answered.
    w.server.setFaults({ hangRate: 0.1 });
    const d = w.startDaemon();
    // Each hang costs a whole timeout (1–2 s: undici's timers tick by the second) and a hung
    // folder lookup holds every job waiting for that folder, so this is slow by design.
    await waitMirror(w, FULL ? 150_000 : 60_000, {}, d);
    expect(await d.stop()).toBe(0);
    const c = w.inspect().counters;
    expect(c.faults).toBeGreaterThan(0);
    expect(d.stdout).toMatch(/timed? ?out|TIMEOUT/i);
    mirror(w);
  });
});
