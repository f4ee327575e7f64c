import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { Availability } from '../../src/squidex/availability.js';
import { classifyFailure, type FailureContext } from '../../src/squidex/classify.js';
import { failureScope, parseRetryAfter } from '../../src/squidex/errors.js';
import { SquidexClient } from '../../src/squidex/index.js';
import { json, startRawServer, tokenJson, type RawServer } from '../support/rawserver.js';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const ctx = (over: Partial<FailureContext> = {}): FailureContext => ({ operation: 'upload', now: NOW, clientId: 'demo:sync', ...over });
const http = (status: number, body: unknown = {}, headers: Record<string, string> = {}) =>
  ({ kind: 'http', status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) }) as const;
const net = (code: string) => ({ kind: 'network', error: Object.assign(new Error(code), { code }) }) as const;
const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

describe('one classification: transient, permanent for the file, global', () => {
  it.each([
    ['ECONNREFUSED', net('ECONNREFUSED')],
    ['ECONNRESET', net('ECONNRESET')],
    ['ETIMEDOUT', net('ETIMEDOUT')],
    ['ENOTFOUND', net('ENOTFOUND')],
    ['EAI_AGAIN', net('EAI_AGAIN')],
    ['408', http(408)],
    ['500', http(500)],
    ['502', http(502)],
    ['503', http(503)],
    ['504', http(504)],
  ])('%s is transient', (_name, f) => {
    expect(failureScope(classifyFailure(f, ctx()))).toBe('transient');
  });

  it('429, and 503 with Retry-After, are a pause the server asked for', () => {
    expect(failureScope(classifyFailure(http(429), ctx()))).toBe('pause');
    expect(failureScope(classifyFailure(http(503, {}, { 'retry-after': '5' }), ctx()))).toBe('pause');
  });

  it.each([400, 404, 409, 413, 415, 422])('%i refuses this file only', (status) => {
    expect(failureScope(classifyFailure(http(status), ctx({ fileName: 'a.png' })))).toBe('file');
  });

  it('credentials refused (token 401, invalid_client, a 401 after a fresh token, 403) and a refused certificate are global', () => {
    expect(failureScope(classifyFailure(http(401, { error: 'invalid_client' }), ctx({ operation: 'token' })))).toBe('global');
    expect(failureScope(classifyFailure(http(400, { error: 'invalid_client' }), ctx({ operation: 'token' })))).toBe('global');
    expect(failureScope(classifyFailure(http(401), ctx()))).toBe('global');
    expect(failureScope(classifyFailure(http(403), ctx()))).toBe('global');
    expect(failureScope(classifyFailure(net('DEPTH_ZERO_SELF_SIGNED_CERT'), ctx()))).toBe('global');
  });

  it("a proxy's HTML error page is transient, whatever its status, the token endpoint's too", () => {
    const page = { 'content-type': 'text/html' };
    const bad = classifyFailure(http(502, NGINX_502, page), ctx());
    expect(bad).toMatchObject({ code: 'SERVER_ERROR', retry: 'retry', scope: 'transient' });
    expect(bad.message).toContain('502 Bad Gateway');
    expect(bad.message).not.toContain('<html>');
    // A load balancer without a backend answers 404, a VPN login page 403: not this file's fault.
    expect(classifyFailure(http(404, '<!DOCTYPE html><title>Not Found</title>', page), ctx())).toMatchObject({
      code: 'PROXY_ERROR',
      scope: 'transient',
    });
    expect(classifyFailure(http(403, '<html><title>Sign in</title></html>'), ctx())).toMatchObject({
      code: 'PROXY_ERROR',
      scope: 'transient',
    });
    expect(classifyFailure(http(503, NGINX_502, page), ctx({ operation: 'token' }))).toMatchObject({ scope: 'transient' });
    expect(classifyFailure(http(401, '<html><title>Proxy login</title></html>', page), ctx({ operation: 'token' }))).toMatchObject({
      scope: 'transient',
    });
    // nginx's own 413 page still means this file is too large.
    expect(
      classifyFailure(http(413, '<html><title>413 Request Entity Too Large</title></html>', page), ctx({ fileName: 'big.mov' })),
    ).toMatchObject({ code: 'TOO_LARGE', scope: 'file' });
  });
});

describe('a server-asked pause is capped', () => {
  it('Retry-After: 86400 and a date far ahead are held to an hour by default, or to what is configured', () => {
    expect(parseRetryAfter('86400', NOW)).toBe(HOUR);
    expect(parseRetryAfter(new Date(NOW + 400 * 24 * HOUR).toUTCString(), NOW)).toBe(HOUR);
    expect(parseRetryAfter('30', NOW)).toBe(30_000);
    expect(parseRetryAfter('86400', NOW, 120_000)).toBe(120_000);
    const e = classifyFailure(http(429, {}, { 'retry-after': '86400' }), ctx());
    expect(e).toMatchObject({ code: 'RATE_LIMITED', retry: 'pause', retryAfterMs: HOUR });
    const far = classifyFailure(http(503, {}, { 'retry-after': 'Fri, 31 Dec 2100 23:59:59 GMT' }), ctx({ maxPauseMs: 5000 }));
    expect(far).toMatchObject({ retry: 'pause', retryAfterMs: 5000 });
  });

  describe('through the client', () => {
    let raw: RawServer | undefined;
    afterEach(async () => {
      await raw?.close();
      raw = undefined;
    });

    it('honours sync.maxServerPauseSeconds, and an HTML page with a 200 is not an answer', async () => {
      let n = 0;
      raw = await startRawServer((req, res) => {
        if (req.url?.includes('/connect/token')) return json(res, 200, tokenJson(++n));
        if (req.url?.includes('folders')) return json(res, 429, {}, { 'retry-after': '86400' });
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><title>Wi-Fi login</title></html>');
      });
      const client = new SquidexClient({
        url: raw.url,
        app: 'demo',
        clientId: 'demo:sync',
        clientSecret: 'secret-value',
        maxServerPauseMs: 90_000,
      });
      try {
        await expect(client.listFolders()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 90_000 });
        await expect(client.getAsset('x')).rejects.toMatchObject({ code: 'PROXY_ERROR', scope: 'transient' });
      } finally {
        await client.close();
      }
    });
  });
});

describe('Availability', () => {
  const refused = () => classifyFailure(net('ECONNREFUSED'), ctx({ operation: 'list folders' }));
  const make = (probe: () => Promise<void>) => {
    const clock = new FakeClock(NOW);
    const a = new Availability({ clock, logger: silentLogger, probe, baseMs: 60_000, maxMs: 60_000, refusedMs: 180_000 });
    return { a, clock };
  };
  let made: Availability[] = [];
  afterEach(() => {
    for (const a of made) a.close();
    made = [];
  });

  it('a transient failure while Squidex answers the probe counts against the file', async () => {
    let probes = 0;
    const { a } = make(async () => void probes++);
    made.push(a);
    expect(await a.judge(refused())).toBe(false);
    expect(a.outage).toBeUndefined();
    expect(probes).toBe(1);
  });

  it('a failing probe makes it an outage: no file is charged, workers stop, the first good answer ends it', async () => {
    let down = true;
    let probes = 0;
    const { a } = make(async () => {
      probes++;
      if (down) throw refused();
    });
    made.push(a);
    const changes: Array<string | undefined> = [];
    a.subscribe((now) => changes.push(now?.reason));
    // Eight workers failing together cost one probe.
    const verdicts = await Promise.all(Array.from({ length: 8 }, () => a.judge(refused())));
    expect(verdicts).toEqual(Array(8).fill(true));
    expect(probes).toBe(1);
    expect(a.blocked()).toBe(true);
    expect(a.outage).toMatchObject({ kind: 'away', since: NOW, reason: 'connection refused' });
    // During the outage a failure is judged without asking again.
    expect(await a.judge(refused())).toBe(true);
    expect(probes).toBe(1);
    down = false;
    a.wake();
    await a.check();
    expect(a.outage).toBeUndefined();
    expect(a.blocked()).toBe(false);
    expect(changes).toEqual(['connection refused', undefined]);
  });

  it('refused credentials are a global state of their own; a file-level refusal or a 429 from the probe is an answer', async () => {
    let answer: unknown = classifyFailure(http(401, { error: 'invalid_client' }), ctx({ operation: 'token' }));
    const { a } = make(async () => {
      if (answer) throw answer;
    });
    made.push(a);
    expect(await a.judge(classifyFailure(http(401), ctx()))).toBe(true);
    expect(a.outage).toMatchObject({ kind: 'refused', reason: 'credentials refused' });
    answer = classifyFailure(http(429), ctx({ operation: 'list folders' }));
    await a.check();
    expect(a.outage).toBeUndefined();
    // A 403 for one operation while the probe goes through: that operation's (file's) failure.
    answer = undefined;
    expect(await a.judge(classifyFailure(http(403), ctx()))).toBe(false);
    // Permanent and local failures never ask the server.
    expect(await a.judge(classifyFailure(http(400), ctx()))).toBe(false);
  });
});
