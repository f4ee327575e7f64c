/**
 * Issue 21: `sync.concurrency: auto` against the test server's capacity model,
 * through the real `once`: it grows when the server has room, backs off at 429
 * and 503, and the server never holds more than 64 of its requests at once.
 * Counts and bounds only, never durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_LIMIT, INITIAL_LIMIT } from '../../src/squidex/limiter.js';
import { endpoint, freePort, waitForAsync } from '../support/service.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';
import { mirror } from '../support/reliability.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** The limits `auto` moved to, in order, from the debug log ("requests at once"). */
function limits(stdout: string): number[] {
  const out: number[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.includes('requests at once')) continue;
    try {
      const l = JSON.parse(line) as { limit?: unknown };
      if (typeof l.limit === 'number') out.push(l.limit);
    } catch {
      // not a log line
    }
  }
  return out;
}

function files(w: World, n: number): void {
  for (let i = 0; i < n; i++) w.write(`d${i % 4}/f${i}.txt`, `file ${i}`);
}

describe('sync.concurrency: auto against a server with room, a rate limit, and 503s', () => {
  it('grows past its start when the server has room (K unlimited, 100 ms each), never past 64', { timeout: 120_000 }, async () => {
    // Long enough per request that this machine's CPU, not the server, is never what stops the growth.
    world = await World.create({ server: { faults: { serviceMs: 100 } } });
    const w = world;
    files(w, 400);
    const res = await w.run(['once'], 100_000);
    expect(res.code, res.stderr).toBe(0);
    mirror(w);
    const c = w.inspect().counters;
    expect(c.maxInFlight).toBeGreaterThan(INITIAL_LIMIT);
    expect(c.maxInFlight).toBeLessThanOrEqual(MAX_LIMIT);
    const seen = limits(res.stdout + res.stderr);
    expect(Math.max(...seen)).toBeGreaterThan(INITIAL_LIMIT);
    expect(Math.max(...seen)).toBeLessThanOrEqual(MAX_LIMIT);
  });

  it('a pinned number is the uploads at once: the server sees that many uploads at once and never more', { timeout: 120_000 }, async () => {
    world = await World.create({ server: { faults: { serviceMs: 20 } }, sync: { concurrency: 3 } });
    const w = world;
    files(w, 60);
    const res = await w.run(['once'], 100_000);
    expect(res.code, res.stderr).toBe(0);
    mirror(w);
    expect(limits(res.stdout + res.stderr)).toEqual([]);
    const c = w.inspect().counters;
    // The pool runs a job more than 3 (workersFor), and the uploads still stay at 3: its file waits at the gate.
    expect(c.maxUploadsInFlight).toBe(3);
    // Beside them, on connections of their own: a folder made ahead and a batch of stamps (3 + 1 + 1 connections).
    expect(c.maxInFlight).toBeLessThanOrEqual(3 + 2);
  });

  it('backs off at 429 without Retry-After: fewer at once, nothing failed, everything mirrored', { timeout: 120_000 }, async () => {
    world = await World.create({
      server: { faults: { serviceMs: 20, maxRequestsPerSecond: 100 } },
      sync: { backoffBaseMs: 200, backoffMaxMs: 1000 },
    });
    const w = world;
    files(w, 400);
    const res = await w.run(['once'], 100_000);
    expect(res.code, res.stderr).toBe(0);
    mirror(w);
    const c = w.inspect().counters;
    expect(c.rateLimited).toBeGreaterThan(0);
    const seen = limits(res.stdout + res.stderr);
    // A cut: some limit lower than one before it.
    expect(seen.some((l, i) => i > 0 && l < seen[i - 1])).toBe(true);
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(1);
    expect(c.maxInFlight).toBeLessThanOrEqual(MAX_LIMIT);
  });

  it('backs off at 503 and goes on once the server answers again', { timeout: 120_000 }, async () => {
    let served = 0;
    // A burst of 503s after the limit had room to grow, as from an overloaded instance behind a proxy.
    world = await World.create({
      server: {
        faults: { serviceMs: 20 },
        onRequest: (method, path) => {
          if (method !== 'POST' || !/\/assets\/[^/]+$/.test(path) || ++served !== 200) return;
          world!.server.setFaults({ forceStatus: 503 });
          setTimeout(() => world?.server.setFaults({ forceStatus: null }), 300);
        },
      },
      sync: { backoffBaseMs: 200, backoffMaxMs: 1000 },
    });
    const w = world;
    files(w, 500);
    const res = await w.run(['once'], 100_000);
    expect(res.code, res.stderr).toBe(0);
    mirror(w);
    expect(w.inspect().counters.faults).toBeGreaterThan(0);
    const seen = limits(res.stdout + res.stderr);
    const peakBefore = Math.max(
      ...seen.slice(
        0,
        Math.max(
          1,
          seen.findIndex((l, i) => i > 0 && l < seen[i - 1]),
        ),
      ),
    );
    expect(seen.some((l, i) => i > 0 && l < seen[i - 1])).toBe(true);
    expect(peakBefore).toBeGreaterThan(INITIAL_LIMIT);
    expect(w.inspect().counters.maxInFlight).toBeLessThanOrEqual(MAX_LIMIT);
  });

  it('the daemon exports the limit it found: /metrics, /status and `status`', { timeout: 120_000 }, async () => {
    const port = await freePort();
    world = await World.create({ server: { faults: { serviceMs: 100 } }, extra: { http: { port } } });
    const w = world;
    const ep = endpoint(port, w.statePath);
    files(w, 300);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size >= 300,
      100_000,
      () => d.stdout.slice(-2000),
    );
    const gauge = await waitForAsync(async () => {
      const v = (await ep.metrics()).value('squidex_sync_concurrency_limit', { mode: 'auto' });
      return v !== undefined && v > INITIAL_LIMIT ? v : undefined;
    }, 20_000);
    expect(gauge).toBeLessThanOrEqual(MAX_LIMIT);
    const inFlight = (await ep.metrics()).value('squidex_sync_requests_in_flight', {});
    expect(inFlight).toBeDefined();
    expect(inFlight!).toBeLessThanOrEqual(MAX_LIMIT);
    // `status` runs apart from the daemon: it reads what the daemon recorded (at most a few seconds old).
    const recorded = await waitForAsync(async () => {
      const r = JSON.parse((await w.run(['status', '--json'])).stdout) as { concurrency: { mode: string; limit: number | null } };
      return r.concurrency.limit !== null && r.concurrency.limit > INITIAL_LIMIT ? r.concurrency : undefined;
    }, 20_000);
    expect(recorded.mode).toBe('auto');
    expect(((await ep.status()) as unknown as { concurrency: { mode: string } }).concurrency.mode).toBe('auto');
    expect((await w.run(['status'])).stdout).toMatch(/^requests at once: \d+ \(auto, found while syncing\)$/m);
    expect(await d.stop()).toBe(0);
    // No daemon: nothing to say about a pace, and a pinned number is just the number.
    expect((await w.run(['status'])).stdout).toMatch(/^requests at once: auto \(found while syncing\)$/m);
    w.writeConfig({ ...w.config(), sync: { ...(w.config().sync as object), concurrency: 6 } });
    expect((await w.run(['status'])).stdout).toMatch(/^uploads at once: 6 \(pinned by sync.concurrency\)$/m);
  });
});
