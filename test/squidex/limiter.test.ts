/** The adaptive limit of `sync.concurrency: auto` on a fake clock: grows, backs off, stays in bounds. */
import { describe, expect, it } from 'vitest';
import { AdaptiveLimiter, INITIAL_LIMIT, MAX_LIMIT, SAMPLE_MAX_BYTES, type Pace } from '../../src/squidex/limiter.js';

function rig(opts: { initial?: number } = {}) {
  let t = 1_000_000;
  const limiter = new AdaptiveLimiter({ ...opts, now: () => t });
  const seen: number[] = [];
  limiter.onChange((l) => seen.push(l));
  /** One round trip: as many requests as the limit allows (or `n`), all answered after `latency(n)` ms. */
  const round = async (latency: (n: number) => number, pace: Pace = 'sample', n = limiter.limit) => {
    const tickets = await Promise.all(Array.from({ length: n }, () => limiter.enter()));
    t += latency(n);
    for (const ticket of tickets) ticket.done(pace);
  };
  return { limiter, seen, round, advance: (ms: number) => (t += ms) };
}

/** A server with K workers of S ms each: n requests at once take S × ceil(n / K). */
const server = (k: number, s: number) => (n: number) => s * Math.ceil(n / k);

describe('AdaptiveLimiter', () => {
  it('starts at the old fixed default and grows while latency stays at its floor, up to 64 and no further', async () => {
    const r = rig();
    expect(r.limiter.limit).toBe(INITIAL_LIMIT);
    for (let i = 0; i < 200; i++) await r.round(() => 20);
    expect(r.limiter.limit).toBe(MAX_LIMIT);
    expect(Math.max(...r.seen)).toBe(MAX_LIMIT);
  });

  it("settles a little above the server's K when more only queue (K = 16, S = 30 ms)", async () => {
    const r = rig();
    for (let i = 0; i < 300; i++) await r.round(server(16, 30));
    // Above 16 the server only queues; Vegas keeps a few requests waiting there, never twice K.
    expect(r.limiter.limit).toBeGreaterThanOrEqual(16);
    expect(r.limiter.limit).toBeLessThan(32);
    const late = r.seen.slice(-20);
    expect(Math.max(...late)).toBeLessThan(32);
  });

  it('backs off when latency climbs', async () => {
    const r = rig({ initial: 40 });
    for (let i = 0; i < 5; i++) await r.round(() => 20);
    const before = r.limiter.limit;
    // The server slows down under load: twice the floor and more.
    for (let i = 0; i < 60; i++) await r.round((n) => 20 + 2 * n);
    expect(r.limiter.limit).toBeLessThan(before);
  });

  it('does not grow when the callers do not use the room it has (nothing learned)', async () => {
    const r = rig();
    for (let i = 0; i < 100; i++) await r.round(() => 20, 'sample', 2);
    expect(r.limiter.limit).toBe(INITIAL_LIMIT);
  });

  it('cuts to 0.9 of itself at a 429 or 503, once per round trip, never below 1', async () => {
    const r = rig({ initial: 20 });
    await r.round(() => 20, 'overload');
    // Twenty refusals of requests sent under the old limit: one cut, not twenty.
    expect(r.limiter.limit).toBe(18);
    expect(r.limiter.drops).toBe(20);
    for (let i = 0; i < 30; i++) await r.round(() => 20, 'overload');
    expect(r.limiter.limit).toBe(1);
    // At 1 it still lets one request through.
    const t = await r.limiter.enter();
    t.done('sample');
  });

  it('probes slowly at and above a level the server refused', async () => {
    const r = rig({ initial: 20 });
    await r.round(() => 20, 'overload');
    expect(r.limiter.limit).toBe(18);
    // Back to just below the refused level at one step per round trip…
    await r.round(() => 20);
    expect(r.limiter.limit).toBe(19);
    // …then at most one step per eight windows.
    for (let i = 0; i < 7; i++) await r.round(() => 20);
    expect(r.limiter.limit).toBe(19);
    await r.round(() => 20);
    expect(r.limiter.limit).toBe(20);
    // Refused again at the same level: a rate limit; the next probe waits twice as long.
    await r.round(() => 20, 'overload');
    expect(r.limiter.limit).toBe(18);
    await r.round(() => 20);
    for (let i = 0; i < 15; i++) await r.round(() => 20);
    expect(r.limiter.limit).toBe(19);
    await r.round(() => 20);
    expect(r.limiter.limit).toBe(20);
  });

  it('ignores failures without an answer and big uploads: neither says how busy the server is', async () => {
    const r = rig();
    for (let i = 0; i < 50; i++) await r.round(() => 20, 'none');
    expect(r.limiter.limit).toBe(INITIAL_LIMIT);
    const tickets = await Promise.all(Array.from({ length: 8 }, () => r.limiter.enter()));
    r.advance(5000);
    for (const t of tickets) t.done('sample', SAMPLE_MAX_BYTES + 1);
    expect(r.limiter.limit).toBe(INITIAL_LIMIT);
  });

  it('holds requests beyond the limit in order, and a caller that gives up leaves the line', async () => {
    const r = rig({ initial: 1 });
    const first = await r.limiter.enter();
    const order: string[] = [];
    const ac = new AbortController();
    const second = r.limiter.enter().then((t) => {
      order.push('second');
      return t;
    });
    const gaveUp = r.limiter.enter(ac.signal).then(
      () => order.push('abandoned'),
      () => order.push('gave up'),
    );
    const third = r.limiter.enter().then((t) => {
      order.push('third');
      return t;
    });
    expect(r.limiter.inFlight).toBe(1);
    ac.abort();
    await gaveUp;
    first.done('sample');
    (await second).done('sample');
    (await third).done('sample');
    expect(order).toEqual(['gave up', 'second', 'third']);
    expect(r.limiter.inFlight).toBe(0);
  });
});
