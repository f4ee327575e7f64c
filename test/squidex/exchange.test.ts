import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { startDeadline } from '../../src/squidex/deadline.js';
import { exchange } from '../../src/squidex/exchange.js';
import { startRawServer, type RawServer } from '../support/rawserver.js';

// The client's transport sends through dispatch with a handler of its own; each
// answer must come back as undici's request + body.text() gives it.

let server: RawServer;
let agent: Agent;
let small: Agent;

beforeAll(async () => {
  server = await startRawServer((req, res) => {
    const path = req.url ?? '';
    if (path.startsWith('/json')) {
      res.writeHead(201, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'], 'x-Mixed-Case': 'yes' });
      res.end(JSON.stringify({ ok: true, path, method: req.method }));
    } else if (path.startsWith('/bom')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Café')]));
    } else if (path.startsWith('/chunks')) {
      res.writeHead(200);
      res.write('é'.repeat(3).slice(0, 1));
      res.write(Buffer.from('é').subarray(0, 1)); // a character split between two chunks
      setTimeout(() => res.end(Buffer.concat([Buffer.from('é').subarray(1), Buffer.from('x'.repeat(70_000))])), 5);
    } else if (path.startsWith('/slow')) {
      res.writeHead(200);
      res.write('partial');
      // Never ends: the caller's abort must end it.
    } else if (path.startsWith('/big')) {
      res.writeHead(200);
      res.end('y'.repeat(10_000));
    } else if (path.startsWith('/early')) {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' });
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>nope</html>');
    }
  });
  agent = new Agent({ connections: 4 });
  small = new Agent({ connections: 1, maxResponseSize: 1000 });
});

afterAll(async () => {
  await agent.close();
  await small.close();
  await server.close();
});

async function both(path: string, init: { method?: 'GET' | 'POST' | 'HEAD' | 'PUT'; body?: string } = {}) {
  const method = init.method ?? 'GET';
  const headers = { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) };
  const ours = await exchange(agent, `${server.url}${path}`, { method, headers, body: init.body });
  const res = await request(`${server.url}${path}`, { method, headers, body: init.body, dispatcher: agent });
  const theirs = { statusCode: res.statusCode, headers: res.headers, text: await res.body.text() };
  for (const h of [ours.headers, theirs.headers]) delete h.date; // the only header that may differ between two answers
  return { ours, theirs };
}

describe('exchange against undici request', () => {
  it.each([
    ['a JSON answer with repeated and mixed-case headers', '/json?a=1&b=%20x', {}],
    ['a POST with a body', '/json/post', { method: 'POST' as const, body: '{"x":1}' }],
    ['a BOM-led body', '/bom', {}],
    ['a body in chunks, a character split across two', '/chunks', {}],
    ['an error status with HTML', '/missing', {}],
    ['HEAD', '/json', { method: 'HEAD' as const }],
    ['an early-hints answer before the real one', '/early', {}],
    ['a path with characters URL would encode', '/json/ä b', {}],
    ['a path with dot segments', '/x/../json/./y', {}],
  ])('%s: the same status, headers and text', async (_name, path, init) => {
    const { ours, theirs } = await both(path, init);
    expect(ours).toEqual(theirs);
  });

  it('a cancel before the answer, one in the middle of the body, and the deadline reject with their reasons', async () => {
    const never = (): Error => new Error('deadline');
    const early = new AbortController();
    const reason = new Error('given up');
    early.abort(reason);
    const d1 = startDeadline(60_000, never, early.signal);
    await expect(exchange(agent, `${server.url}/json`, { method: 'GET', headers: {}, abort: d1 })).rejects.toBe(reason);
    d1.clear();

    const late = new AbortController();
    const d2 = startDeadline(60_000, never, late.signal);
    const pending = exchange(agent, `${server.url}/slow`, { method: 'GET', headers: {}, abort: d2 });
    setTimeout(() => late.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
    d2.clear();

    const timedOut = new Error('too slow');
    const d3 = startDeadline(50, () => timedOut);
    await expect(exchange(agent, `${server.url}/slow`, { method: 'GET', headers: {}, abort: d3 })).rejects.toBe(timedOut);
    d3.clear();
    // The agent still works afterwards.
    expect((await exchange(agent, `${server.url}/json`, { method: 'GET', headers: {} })).statusCode).toBe(201);
  });

  it('an answer over the agent’s maxResponseSize fails as it does through request', async () => {
    const ours = await exchange(small, `${server.url}/big`, { method: 'GET', headers: {} }).catch(
      (e: unknown) => e as Error & { code?: string },
    );
    const theirs = await request(`${server.url}/big`, { dispatcher: small })
      .then((r) => r.body.text())
      .catch((e: unknown) => e as Error & { code?: string });
    expect((ours as { code?: string }).code).toBe('UND_ERR_RES_EXCEEDED_MAX_SIZE');
    expect((ours as { code?: string }).code).toBe((theirs as { code?: string }).code);
  });
});
