import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer } from '../../src/testserver/index.js';
import { body, file, harness, type Harness } from '../support/testserver.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

const post = (url: string, payload: unknown) =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload) });

describe('test server: faults', () => {
  it('answers 5xx and 429 as switched, with Retry-After only when asked, never on /_test', async () => {
    h = await harness();
    h.server.setFaults({ rate5xx: 1 });
    const res = await h.api('/assets');
    expect([500, 502, 503]).toContain(res.status);
    expect(await body(res)).toMatchObject({ message: '', statusCode: res.status });
    expect((await fetch(`${h.server.url}/_test/inspect`)).status).toBe(200);

    h.server.setFaults({ rate5xx: 0, rate429: 1 });
    const quota = await h.api('/assets');
    expect(quota.status).toBe(429);
    expect(quota.headers.get('retry-after')).toBeNull();
    const b = await body(quota);
    expect(b).toMatchObject({ message: '', statusCode: 429 });
    expect(b.type).toBeUndefined();
    h.server.setFaults({ retryAfterSec: 3 });
    expect((await h.api('/assets')).headers.get('retry-after')).toBe('3');

    const i = h.server.inspect();
    expect(i.counters.faults).toBe(3);
    expect(i.counters.byRoute['GET /assets']).toBe(3);
    h.server.resetCounters();
    expect(h.server.inspect().counters).toEqual({
      requests: 0,
      byRoute: {},
      uploads: 0,
      uploadBytes: 0,
      tusBytes: 0,
      faults: 0,
      tokens: 0,
      maxInFlight: 0,
      maxUploadsInFlight: 0,
      uploadMs: 0,
      maxWorking: 0,
      rateLimited: 0,
      firstUploadAt: 0,
      lastUploadAt: 0,
    });
  });

  it('honours the ?error=<status> test hook of RequestExceptionMiddleware', async () => {
    h = await harness();
    const res = await h.api('/assets?error=503');
    expect(res.status).toBe(503);
    expect(await body(res)).toMatchObject({ message: '', statusCode: 503 });
    expect((await h.api('/assets?error=200')).status).toBe(200);
  });

  it('delays without failing: latency and spikes are not counted as faults', async () => {
    h = await harness();
    h.server.setFaults({ latencyMs: 20, latencySpikeRate: 1, latencySpikeMs: 20 });
    expect((await h.api('/assets')).status).toBe(200);
    expect(h.server.inspect().counters.faults).toBe(0);
  });

  it('takes faults at start and applies them to the token endpoint too', async () => {
    const server = await startTestServer({ faults: { rate429: 1 } });
    try {
      const res = await fetch(`${server.url}/identity-server/connect/token`, { method: 'POST', body: 'grant_type=client_credentials' });
      expect(res.status).toBe(429);
      expect(server.inspect().counters).toMatchObject({ tokens: 0, faults: 1, requests: 1 });
    } finally {
      await server.close();
    }
  });

  it('resets the connection part-way through an upload and stores nothing', async () => {
    h = await harness();
    h.server.setFaults({ resetRate: 1 });
    await expect(h.upload('/assets', [file('big.bin', Buffer.alloc(256 * 1024), 'application/octet-stream')])).rejects.toThrow();
    await expect(h.api('/assets')).rejects.toThrow();
    h.server.setFaults({ resetRate: 0 });
    expect(h.server.inspect().assets).toEqual([]);
    expect(h.server.inspect().counters.faults).toBe(2);
    expect((await h.upload('/assets', [file('ok.txt', 'ok')])).status).toBe(201);
  });

  it('hangs requests until the client gives up, and close() still returns', async () => {
    h = await harness();
    h.server.setFaults({ hangRate: 1, latencyMs: 5 });
    await expect(h.api('/assets', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    await expect(h.upload('/assets', [file('a.txt', 'a')], { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(h.server.inspect().assets).toEqual([]);
  });

  it('goes down and comes back, switched over HTTP; /_test keeps working', async () => {
    h = await harness();
    const faults = `${h.server.url}/_test/faults`;
    expect((await post(faults, { down: true })).status).toBe(200);
    await expect(h.api('/assets')).rejects.toThrow();
    expect((await fetch(`${h.server.url}/_test/inspect`)).status).toBe(200);
    const back = await post(faults, { down: false });
    expect(await back.json()).toMatchObject({ down: false, rate5xx: 0 });
    expect((await h.api('/assets')).status).toBe(200);
    expect((await post(faults, { rate5xx: 7 })).status).toBe(400);
    expect((await post(faults, { nonsense: true })).status).toBe(400);
    expect((await fetch(`${h.server.url}/_test/reset-counters`, { method: 'POST' })).status).toBe(204);
    const inspected = (await (await fetch(`${h.server.url}/_test/inspect`)).json()) as { counters: { requests: number } };
    expect(inspected.counters.requests).toBe(0);
  });

  it("answers every request with a forced status, as JSON or as a proxy's HTML page, the token endpoint too", async () => {
    h = await harness();
    h.server.setFaults({ forceStatus: 503, retryAfterSec: 2 });
    const json = await h.api('/assets');
    expect(json.status).toBe(503);
    expect(json.headers.get('retry-after')).toBe('2');
    expect(await body(json)).toMatchObject({ statusCode: 503 });
    h.server.setFaults({ htmlErrors: true, retryAfterSec: null });
    const token = await fetch(`${h.server.url}/identity-server/connect/token`, { method: 'POST', body: 'grant_type=client_credentials' });
    expect(token.status).toBe(503);
    expect(token.headers.get('content-type')).toBe('text/html');
    expect(await token.text()).toContain('<title>503 Service Unavailable</title>');
    h.server.setFaults({ forceStatus: null, htmlErrors: false });
    expect((await h.api('/assets')).status).toBe(200);
    expect(() => h!.server.setFaults({ forceStatus: 42 })).toThrow(/forceStatus/);
  });

  it('fails the uploads of one file name with 500 and lets the others through', async () => {
    h = await harness();
    h.server.setFaults({ failUploadsNamed: 'bad.bin' });
    expect((await h.upload('/assets', [file('bad.bin', 'x', 'application/octet-stream')])).status).toBe(500);
    expect((await h.upload('/assets', [file('good.bin', 'y', 'application/octet-stream')])).status).toBe(201);
    expect(h.server.inspect().assets.map((a) => a.fileName)).toEqual(['good.bin']);
    expect(h.server.inspect().counters).toMatchObject({ uploads: 1, faults: 1 });
  });

  it('stops listening (connections refused) and listens again on the same port with its store', async () => {
    h = await harness();
    expect((await h.upload('/assets', [file('a.txt', 'a')])).status).toBe(201);
    const url = h.server.url;
    await h.server.stopListening();
    // A kept-alive socket may first report its own end; a new connection is refused.
    await expect(h.api('/assets')).rejects.toThrow();
    await expect(h.api('/assets')).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    await h.server.listen();
    expect(h.server.url).toBe(url);
    const res = await h.api('/assets');
    expect(((await body(res)) as { total: number }).total).toBe(1);
  });

  it('replays the same fault sequence for the same seed', async () => {
    const run = async (seed: number) => {
      const x = await harness({ seed });
      x.server.setFaults({ rate5xx: 0.3, rate429: 0.3 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await x.api('/assets/folders')).status);
      await x.server.close();
      return statuses;
    };
    const a = await run(5);
    expect(await run(5)).toEqual(a);
    expect(a.some((s) => s === 200) && a.some((s) => s !== 200)).toBe(true);
  });
});
