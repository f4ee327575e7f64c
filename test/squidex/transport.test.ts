import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/log.js';
import { SquidexClient, SquidexError } from '../../src/squidex/index.js';
import { asset, json, startRawServer, tokenJson, type RawServer } from '../support/rawserver.js';

const SECRET = 'very-secret-value-123';
let dir: string;
let server: RawServer | undefined;
let client: SquidexClient | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqx-transport-'));
});
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('multipart upload bytes', () => {
  it('sends an exact, streamed multipart body and returns the hash of the bytes sent', async () => {
    server = await startRawServer((_req, res) => json(res, 200, asset('a1')));
    const content = Buffer.from('hello world\n'.repeat(1000));
    const name = 'Grüße – 日本 "q".png';
    const file = join(dir, 'f.png');
    writeFileSync(file, content);
    client = new SquidexClient({ url: server.url, app: 'demo', token: 'static-token' });
    const r = await client.upsertAsset('a1', 'folder-1', { path: file, fileName: name });

    expect(r).toMatchObject({ bytes: content.length, sha256: sha(content) });
    const req = server.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/apps/demo/assets/a1?parentId=folder-1&duplicate=true');
    expect(req.headers.authorization).toBe('Bearer static-token');
    expect(Number(req.headers['content-length'])).toBe(req.body.length);
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(req.headers['content-type'] ?? '')![1];
    const preamble =
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="Grüße – 日本 %22q%22.png"; ` +
      `filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E2%80%93%20%E6%97%A5%E6%9C%AC%20%22q%22.png\r\nContent-Type: image/png\r\n\r\n`;
    const expected = Buffer.concat([Buffer.from(preamble), content, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    expect(req.body.equals(expected)).toBe(true);
    // filename* decodes back to the exact name
    expect(decodeURIComponent('Gr%C3%BC%C3%9Fe%20%E2%80%93%20%E6%97%A5%E6%9C%AC%20%22q%22.png')).toBe(name);
  });

  it('streams a large file with a mime override and an empty file, via PUT /content', async () => {
    server = await startRawServer((_req, res) => json(res, 200, asset('a2')));
    const big = Buffer.alloc(9 * 1024 * 1024 + 17, 7);
    writeFileSync(join(dir, 'big.bin'), big);
    writeFileSync(join(dir, 'empty.txt'), '');
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const r1 = await client.replaceContent('a2', { path: join(dir, 'big.bin'), fileName: 'big.bin', mimeType: 'video/x-custom' });
    expect(r1).toMatchObject({ bytes: big.length, sha256: sha(big) });
    expect(server.requests[0].url).toBe('/api/apps/demo/assets/a2/content');
    expect(server.requests[0].body.includes(Buffer.from('Content-Type: video/x-custom\r\n'))).toBe(true);
    const r2 = await client.replaceContent('a2', { path: join(dir, 'empty.txt'), fileName: 'empty.txt' });
    expect(r2).toMatchObject({ bytes: 0, sha256: sha(Buffer.alloc(0)) });
  });
});

describe('tokens', () => {
  it('fetches once for concurrent callers, refreshes at 90% of expires_in, retries a 401 once with a new token', async () => {
    let issued = 0;
    const valid = new Set<string>();
    server = await startRawServer((req, res, body) => {
      if (req.url === '/identity-server/connect/token') {
        const form = new URLSearchParams(body.toString());
        expect(Object.fromEntries(form)).toEqual({
          grant_type: 'client_credentials',
          client_id: 'demo:sync',
          client_secret: SECRET,
          scope: 'squidex-api',
        });
        issued++;
        valid.add(`tok-${issued}`);
        return json(res, 200, tokenJson(issued, 100));
      }
      const tok = (req.headers.authorization ?? '').replace('Bearer ', '');
      if (!valid.has(tok)) return json(res, 401, { message: '', statusCode: 401 });
      json(res, 200, asset('x'));
    });
    const clock = new FakeClock();
    client = new SquidexClient({ url: server.url, app: 'demo', clientId: 'demo:sync', clientSecret: SECRET, clock });
    await Promise.all(Array.from({ length: 10 }, () => client!.getAsset('x')));
    expect(issued).toBe(1);
    clock.advance(89_000);
    await client.getAsset('x');
    expect(issued).toBe(1);
    clock.advance(2_000); // past 90 s of a 100 s token
    await client.getAsset('x');
    expect(issued).toBe(2);
    valid.clear(); // server revokes: the next call gets 401, refreshes and retries once
    await client.getAsset('x');
    expect(issued).toBe(3);
    const apiCalls = server.requests.filter((r) => r.url.startsWith('/api/'));
    expect(apiCalls.at(-1)!.headers.authorization).toBe('Bearer tok-3');
  });

  it('a second 401 after the refresh is AUTH_FAILED, not a loop', async () => {
    server = await startRawServer((req, res) =>
      req.url?.startsWith('/identity-server') ? json(res, 200, tokenJson(1)) : json(res, 401, { message: '' }),
    );
    client = new SquidexClient({ url: server.url, app: 'demo', clientId: 'demo:sync', clientSecret: SECRET });
    await expect(client.listFolders()).rejects.toMatchObject({ code: 'AUTH_FAILED', retry: 'never', status: 401 });
    expect(server.requests.filter((r) => r.url.startsWith('/api/'))).toHaveLength(2);
  });

  it('refused credentials: AUTH_FAILED naming the client id; the secret appears in no message or log line', async () => {
    server = await startRawServer((_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: `The specified client credentials are invalid: ${SECRET}` }),
    );
    const lines: string[] = [];
    const sink = new Writable({
      write: (c, _e, cb) => {
        lines.push(String(c));
        cb();
      },
    });
    const logger = createLogger({ level: 'trace', destination: sink });
    client = new SquidexClient({ url: server.url, app: 'demo', clientId: 'demo:sync', clientSecret: SECRET, logger });
    const e = (await client.listFolders().catch((x: unknown) => x)) as SquidexError;
    expect(e).toBeInstanceOf(SquidexError);
    expect(e).toMatchObject({ code: 'AUTH_FAILED', retry: 'never' });
    expect(e.message).toContain('demo:sync');
    const everything = [e.message, e.hint, String(e.stack), JSON.stringify(e), lines.join('')].join('\n');
    expect(everything).not.toContain(SECRET);
    await expect(client.token()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('an API error body that echoes the token is scrubbed', async () => {
    server = await startRawServer((_req, res) => json(res, 400, { message: `bad header Bearer static-token-abc`, details: [] }));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 'static-token-abc' });
    const e = (await client.listFolders().catch((x: unknown) => x)) as Error;
    expect(e.message).not.toContain('static-token-abc');
    expect(e.message).toContain('[redacted]');
  });
});

describe('timeouts, aborts and resets', () => {
  it('a server that accepts and goes silent frees the caller with TIMEOUT', async () => {
    server = await startRawServer(() => undefined /* never answer */);
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't', timeoutMs: 300 });
    await expect(client.listFolders()).rejects.toMatchObject({ code: 'TIMEOUT', retry: 'retry' });
  });

  it('an aborted upload stops with ABORTED', async () => {
    server = await startRawServer(() => undefined);
    writeFileSync(join(dir, 'a.txt'), 'abc');
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const ac = new AbortController();
    const p = client.upsertAsset('a', 'p', { path: join(dir, 'a.txt'), fileName: 'a.txt' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('a connection dropped while sending a >5 MiB file is suspected too large, given up on the third time, and forgiven after a bigger success', async () => {
    server = await startRawServer(
      (_req, res) => json(res, 200, asset('a')),
      (req) => {
        // Like Kestrel over its MaxRequestBodySize: drop the connection instead of answering.
        if (Number(req.headers['content-length']) > 5 * 1024 * 1024) {
          req.socket.destroy();
          return true;
        }
        return false;
      },
    );
    writeFileSync(join(dir, 'big.mov'), Buffer.alloc(6 * 1024 * 1024));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const src = { path: join(dir, 'big.mov'), fileName: 'big.mov' };
    const e1 = (await client.upsertAsset('a', 'p', src).catch((x: unknown) => x)) as SquidexError;
    expect(e1).toMatchObject({ code: 'UPLOAD_TOO_LARGE_SUSPECTED', retry: 'retry' });
    const e2 = (await client.upsertAsset('a', 'p', src).catch((x: unknown) => x)) as SquidexError;
    expect(e2).toMatchObject({ code: 'UPLOAD_TOO_LARGE_SUSPECTED', retry: 'retry' });
    const e3 = (await client.upsertAsset('a', 'p', src).catch((x: unknown) => x)) as SquidexError;
    expect(e3).toMatchObject({ code: 'UPLOAD_TOO_LARGE_SUSPECTED', retry: 'never' });
    expect(e3.message).toContain('big.mov');
    expect(e3.message).toContain('3 times');

    // The server's limit was raised: a bigger file goes through, and the count for the smaller size is forgotten.
    server.early = undefined;
    writeFileSync(join(dir, 'bigger.mov'), Buffer.alloc(7 * 1024 * 1024));
    expect((await client.upsertAsset('a', 'p', { path: join(dir, 'bigger.mov'), fileName: 'bigger.mov' })).bytes).toBe(7 * 1024 * 1024);
    server.early = (req) => {
      req.socket.destroy();
      return true;
    };
    expect(await client.upsertAsset('a', 'p', src).catch((x: unknown) => x)).toMatchObject({ code: 'NETWORK', retry: 'retry' });
  });

  it('a 413 sent before the body was read is TOO_LARGE with file name and size', async () => {
    server = await startRawServer(
      () => undefined,
      (req, res) => {
        if (Number(req.headers['content-length']) <= 5 * 1024 * 1024) return false;
        json(res, 413, { message: 'Failed to read the request form. Request body too large.', statusCode: 413 });
        return true;
      },
    );
    writeFileSync(join(dir, 'poster.tif'), Buffer.alloc(32 * 1024 * 1024));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const e = (await client
      .upsertAsset('a', 'p', { path: join(dir, 'poster.tif'), fileName: 'poster.tif' })
      .catch((x: unknown) => x)) as SquidexError;
    expect(e).toMatchObject({ code: 'TOO_LARGE', retry: 'never', status: 413 });
    expect(e.message).toContain('"poster.tif" (32.0 MiB)');
    expect(e.message).toContain('assets:maxSize is 5 MiB');
    expect(e.hint).toContain('ASSETS__MAXSIZE');
  });

  it('a file that shrinks while it is sent fails with FILE_CHANGED (retry), not a corrupt upload', async () => {
    const path = join(dir, 'shrinks.bin');
    writeFileSync(path, Buffer.alloc(48 * 1024 * 1024, 1));
    server = await startRawServer(
      (_req, res) => json(res, 200, asset('s')),
      () => {
        truncateSync(path, 1024); // the designer saves a smaller version mid-upload
        return false;
      },
    );
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const e = await client.upsertAsset('s', 'p', { path, fileName: 'shrinks.bin' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'FILE_CHANGED', retry: 'retry' });
    expect((e as Error).message).toContain('shrinks.bin');
  });

  it('nothing listening: NETWORK, retried', async () => {
    server = await startRawServer(() => undefined);
    const url = server.url;
    await server.close();
    server = undefined;
    client = new SquidexClient({ url, app: 'demo', token: 't' });
    await expect(client.listFolders()).rejects.toMatchObject({ code: 'NETWORK', retry: 'retry' });
  });
});

describe('upsert safety', () => {
  it('an upsert answered with another asset id is refused', async () => {
    server = await startRawServer((_req, res) => json(res, 200, { ...asset('someone-else'), _meta: { isDuplicate: 'true' } }));
    writeFileSync(join(dir, 'a.txt'), 'a');
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    await expect(client.upsertAsset('mine', 'p', { path: join(dir, 'a.txt'), fileName: 'a.txt' })).rejects.toMatchObject({
      code: 'UNEXPECTED_RESPONSE',
      retry: 'never',
    });
  });
});

describe('early success', () => {
  it('a 2xx before the whole file was sent is not taken as an upload', async () => {
    server = await startRawServer(
      () => undefined,
      (_req, res) => {
        json(res, 200, asset('e'));
        return true;
      },
    );
    writeFileSync(join(dir, 'e.bin'), Buffer.alloc(32 * 1024 * 1024));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    await expect(client.upsertAsset('e', 'p', { path: join(dir, 'e.bin'), fileName: 'e.bin' })).rejects.toMatchObject({
      code: 'UNEXPECTED_RESPONSE',
      retry: 'retry',
    });
  });
});

describe('queries', () => {
  it('findAssets builds an escaped, encoded OData filter and pages', async () => {
    let calls = 0;
    server = await startRawServer((_req, res) => {
      calls++;
      const n = calls === 1 ? 200 : 3;
      json(res, 200, { total: 203, items: Array.from({ length: n }, (_, i) => asset(`id-${calls}-${i}`)) });
    });
    client = new SquidexClient({ url: server.url, app: 'my app', token: 't' });
    const found = await client.findAssets({
      parentId: 'p1',
      fileName: "O'Brien & Co.png",
      fileHash: 'a+b/c=',
      metadata: { 'sync-path': 'a/b c.png' },
    });
    expect(found).toHaveLength(203);
    const u = server.requests[0].url;
    expect(u.startsWith('/api/apps/my%20app/assets?parentId=p1&$filter=')).toBe(true);
    const filter = decodeURIComponent(/\$filter=([^&]*)/.exec(u)![1]);
    expect(filter).toBe("fileHash eq 'a+b/c=' and fileName eq 'O''Brien & Co.png' and metadata/sync-path eq 'a/b c.png'");
    expect(u).not.toMatch(/[ +'&]Co/);
    expect(server.requests[1].url).toContain('$skip=200');
  });

  it('getAsset is null on 404; deleteAsset sends permanent, and always checkReferrers', async () => {
    server = await startRawServer((req, res) => {
      if (req.method === 'DELETE') res.writeHead(204).end();
      else json(res, 404, { message: '' });
    });
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    expect(await client.getAsset('nope')).toBeNull();
    await client.deleteAsset('x', { permanent: true });
    expect(server.requests[1]).toMatchObject({ method: 'DELETE', url: '/api/apps/demo/assets/x?checkReferrers=true&permanent=true' });
  });
});
