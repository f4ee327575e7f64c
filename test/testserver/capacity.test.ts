/** The test server's capacity model (issue 21): K workers of S ms each, a queue behind them, a rate limit in front. */
import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../support/testserver.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const post = (url: string, payload: unknown) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) });

/** `n` GETs at once; their statuses. */
async function burst(hh: Harness, n: number): Promise<number[]> {
  return Promise.all(Array.from({ length: n }, async () => (await hh.api('/assets/folders')).status));
}

describe('test server: capacity model', () => {
  it('works on at most K requests at once and queues the rest: all are answered, none refused', async () => {
    h = await harness({ faults: { capacity: 3, serviceMs: 15 } });
    h.server.resetCounters();
    const statuses = await burst(h, 12);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const c = h.server.inspect().counters;
    expect(c).toMatchObject({ requests: 12, faults: 0, rateLimited: 0, maxWorking: 3 });
    // The queued ones are held by the server all the same: what a client has in flight.
    expect(c.maxInFlight).toBeGreaterThan(3);
    expect(c.maxInFlight).toBeLessThanOrEqual(12);
    expect(c.firstUploadAt).toBe(0);

    h.server.setFaults({ capacity: 0 });
    h.server.resetCounters();
    expect((await burst(h, 6)).every((s) => s === 200)).toBe(true);
    expect(h.server.inspect().counters.maxWorking).toBeGreaterThan(3);
  });

  it('refuses beyond R requests/s with 429, without Retry-After unless asked, and counts the refusals', async () => {
    h = await harness();
    h.server.setFaults({ maxRequestsPerSecond: 10 });
    // The bucket starts full with a tenth of a second's worth (one request): a burst of 20 gets few through.
    const statuses = await burst(h, 20);
    const refused = statuses.filter((s) => s === 429).length;
    expect(refused).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(refused + statuses.filter((s) => s === 200).length).toBe(20);
    const c = h.server.inspect().counters;
    expect(c.rateLimited).toBe(refused);
    expect(c.faults).toBe(refused);
    const again = await h.api('/assets/folders');
    if (again.status === 429) expect(again.headers.get('retry-after')).toBeNull();

    h.server.setFaults({ retryAfterSec: 2 });
    const withHeader = (await Promise.all(Array.from({ length: 10 }, () => h!.api('/assets/folders')))).filter((r) => r.status === 429);
    expect(withHeader.length).toBeGreaterThan(0);
    for (const r of withHeader) expect(r.headers.get('retry-after')).toBe('2');
  });

  it('counts the uploads it holds at once apart from other requests, and their time held', async () => {
    h = await harness({ faults: { serviceMs: 30 } });
    h.server.resetCounters();
    const hh = h;
    const uploads = Array.from({ length: 3 }, (_, i) =>
      hh.upload('/assets', [{ filename: `f${i}.txt`, contentType: 'text/plain', data: Buffer.from(`file ${i}`) }]),
    );
    const statuses = [...(await burst(hh, 4)), ...(await Promise.all(uploads)).map((r) => r.status)];
    expect(statuses.every((s) => s === 200 || s === 201)).toBe(true);
    const c = hh.server.inspect().counters;
    expect(c.maxUploadsInFlight).toBe(3);
    expect(c.maxInFlight).toBeGreaterThan(3);
    // Summed while uploads were held (a mean over a span in the benchmark); listings add nothing.
    expect(c.uploadMs).toBeGreaterThan(0);
  });

  it('is switched over HTTP and refuses a fractional capacity', async () => {
    h = await harness();
    const res = await post(`${h.server.url}/_test/faults`, { capacity: 4, serviceMs: 5, maxRequestsPerSecond: 1000 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ capacity: 4, serviceMs: 5, maxRequestsPerSecond: 1000 });
    expect((await post(`${h.server.url}/_test/faults`, { capacity: 1.5 })).status).toBe(400);
    expect((await post(`${h.server.url}/_test/faults`, { maxRequestsPerSecond: -1 })).status).toBe(400);
    h.server.resetCounters();
    expect(h.server.inspect().counters).toMatchObject({ maxInFlight: 0, rateLimited: 0 });
    expect((await h.api('/assets/folders')).status).toBe(200);
    expect(h.server.inspect().counters.maxInFlight).toBe(1);
    h.server.resetCounters();
    expect(h.server.inspect().counters.maxInFlight).toBe(0);
  });
});
