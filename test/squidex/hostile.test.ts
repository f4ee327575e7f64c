/**
 * Issue 18 §3: servers and proxies that misbehave. An answer without end, one
 * that trickles a byte at a time just inside the idle timeout, and a listing
 * that ignores $skip must each free the caller, against a raw loopback server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SquidexClient } from '../../src/squidex/index.js';
import { deadlineMs, MAX_RESPONSE_BYTES } from '../../src/squidex/deadline.js';
import { asset, json, startRawServer, tokenJson, type RawServer } from '../support/rawserver.js';
import { waitFor } from '../support/wait.js';

let dir: string;
let server: RawServer | undefined;
let client: SquidexClient | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqx-hostile-'));
});
afterEach(async () => {
  await server?.close();
  await client?.close();
  client = undefined;
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const TOKEN_PATH = '/identity-server/connect/token';

/** 16 MiB past the client's limit, then silence (bounded, so the unfixed client does not eat the machine's memory). */
function endless(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let sent = 0;
  const pump = (): void => {
    while (sent < MAX_RESPONSE_BYTES + 16 * 1024 * 1024) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  res.on('error', () => undefined);
  pump();
}

/** One space every 100 ms, well inside any idle timeout; valid JSON only after 30 s. */
function trickle(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  let n = 0;
  const timer = setInterval(() => {
    if (++n < 300) return void res.write(' ');
    clearInterval(timer);
    res.end(JSON.stringify(body));
  }, 100);
  res.on('close', () => clearInterval(timer));
}

describe('an answer without end', () => {
  it(`an API answer over ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB is cut off with RESPONSE_TOO_LARGE (retried), not read into memory`, async () => {
    server = await startRawServer((_req, res) => endless(res));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't', timeoutMs: 5000 });
    const e = await client.listFolders().catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'RESPONSE_TOO_LARGE', retry: 'retry' });
    expect((e as Error).message).toMatch(/^list folders: .* over 32 MiB; it was cut off\.$/);
  });

  it('so is an endless token endpoint, and its secret stays out of the message', async () => {
    server = await startRawServer((req, res) => (req.url === TOKEN_PATH ? endless(res) : json(res, 200, { items: [] })));
    client = new SquidexClient({ url: server.url, app: 'demo', clientId: 'demo:sync', clientSecret: 'secret-value-123', timeoutMs: 5000 });
    const e = await client.token().catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'RESPONSE_TOO_LARGE', retry: 'retry' });
    expect((e as Error).message).toMatch(/^token: /);
    expect((e as Error).message).not.toContain('secret-value-123');
  });
});

describe('a server that trickles', () => {
  it('a listing sent one byte at a time ends in TIMEOUT at the total deadline, though no idle timeout trips', async () => {
    server = await startRawServer((_req, res) => trickle(res, { items: [] }));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't', timeoutMs: 300 });
    const e = await client.listFolders().catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'TIMEOUT', retry: 'retry' });
    expect((e as Error).message).toMatch(/^list folders: Squidex did not finish answering within \d+ s/);
  });

  it('so does a token endpoint', async () => {
    server = await startRawServer((req, res) => (req.url === TOKEN_PATH ? trickle(res, tokenJson(1)) : json(res, 200, { items: [] })));
    client = new SquidexClient({ url: server.url, app: 'demo', clientId: 'demo:sync', clientSecret: 'secret-value-123', timeoutMs: 300 });
    await expect(client.token()).rejects.toMatchObject({ code: 'TIMEOUT', retry: 'retry' });
  });

  it('so does the answer to an upload, naming the file', async () => {
    server = await startRawServer((_req, res) => trickle(res, asset('a')));
    writeFileSync(join(dir, 'a.txt'), 'abc');
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't', timeoutMs: 300 });
    const e = await client.upsertAsset('a', 'p', { path: join(dir, 'a.txt'), fileName: 'a.txt' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'TIMEOUT', retry: 'retry' });
    expect((e as Error).message).toContain('upload of "a.txt"');
  });

  it('an upload slowed by the bandwidth cap is given time by its size and the cap', async () => {
    server = await startRawServer((_req, res) => json(res, 200, asset('slow')));
    const bytes = Buffer.alloc(48 * 1024, 5);
    writeFileSync(join(dir, 'slow.bin'), bytes);
    // At 32 KiB/s the upload outlasts 2 × timeoutMs; its deadline grows with its bytes.
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't', timeoutMs: 300, maxBytesPerSecond: 32 * 1024, connections: 4 });
    const r = await client.upsertAsset('slow', 'p', { path: join(dir, 'slow.bin'), fileName: 'slow.bin' });
    expect(r.bytes).toBe(bytes.length);
  });

  it('the deadline: twice the timeout, plus the body at the slowest working rate shared by every connection', () => {
    const base = { timeoutMs: 60_000, bodyBytes: 0, capBytesPerSecond: 0, connections: 9 };
    expect(deadlineMs(base)).toBe(120_000);
    // 1 MiB at 1 Mbit/s over 8 connections: 64 s more.
    expect(deadlineMs({ ...base, bodyBytes: 1024 * 1024, connections: 8 })).toBe(120_000 + 64_000);
    // A lower cap stretches it; a higher one does not shorten it.
    expect(deadlineMs({ ...base, bodyBytes: 1024 * 1024, connections: 8, capBytesPerSecond: 64 * 1024 })).toBe(120_000 + 128_000);
    expect(deadlineMs({ ...base, bodyBytes: 1024 * 1024, connections: 8, capBytesPerSecond: 100 * 1024 * 1024 })).toBe(120_000 + 64_000);
  });
});

describe('a listing that pages forever', () => {
  it('findAssets stops when a page brings no new id (a proxy that ignores $skip)', async () => {
    const page = { total: 5000, items: Array.from({ length: 200 }, (_, i) => asset(`id-${i}`)) };
    let calls = 0;
    server = await startRawServer((_req, res) => {
      calls++;
      // Bounded for the unfixed client: after 50 pages the "proxy" gives up.
      json(res, 200, calls > 50 ? { total: 5000, items: [] } : page);
    });
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const found = await client.findAssets({ parentId: 'p1' });
    expect(found.map((a) => a.id)).toEqual(page.items.map((a) => a.id));
    expect(server.requests.map((r) => r.url.includes('$skip=200'))).toEqual([false, true]);
  });
});

describe('a server that reads a request and never answers', () => {
  it('does not hold close(): the request on the wire is cut (the daemon stop waits for close)', { timeout: 20_000 }, async () => {
    server = await startRawServer(() => undefined); // read, never answered
    // An idle timeout far beyond the test's: only close() can end the request in time.
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't', timeoutMs: 60_000 });
    const onTheWire = client.bulk([{ type: 'Annotate', id: 'a1' }]).catch((x: unknown) => x);
    await waitFor(() => server!.requests.length > 0, 5_000);
    expect(server.requests.map((r) => r.url)).toEqual(['/api/apps/demo/assets/bulk']);
    await client.close();
    expect(await onTheWire).toBeInstanceOf(Error);
    client = undefined;
  });

  it('a caller that stops while the token is being fetched leaves that wait (the fetch is shared, so it goes on)', {
    timeout: 20_000,
  }, async () => {
    server = await startRawServer(() => undefined); // the token endpoint reads the request and never answers
    client = new SquidexClient({ url: server.url, app: 'demo', clientId: 'demo:sync', clientSecret: 'secret-xyz', timeoutMs: 60_000 });
    const stop = new AbortController();
    const asking = client.getAsset('a1', { signal: stop.signal }).catch((x: unknown) => x);
    await waitFor(() => server!.requests.length > 0, 5_000);
    expect(server.requests.map((r) => r.url)).toEqual(['/identity-server/connect/token']);
    stop.abort(new Error('stopping'));
    // Before close(): the caller is free while the shared fetch still waits for its answer (the client's
    // deadline is far beyond the test's timeout, so a caller held by the fetch fails the test).
    expect(await asking).toBeInstanceOf(Error);
    await client.close();
    client = undefined;
  });
});
