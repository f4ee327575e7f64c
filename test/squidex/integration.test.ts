import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/log.js';
import {
  FolderResolver,
  ROOT_FOLDER_ID,
  SquidexClient,
  type SquidexError,
  squidexFileHash,
  type FolderCache,
  type SquidexClientOptions,
} from '../../src/squidex/index.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../../src/testserver/index.js';

let dir: string;
let server: TestServer;
const clients: SquidexClient[] = [];

async function setup(opts: TestServerOptions = {}, clientOpts: Partial<SquidexClientOptions> = {}): Promise<SquidexClient> {
  server = await startTestServer(opts);
  const c = new SquidexClient({
    url: server.url,
    app: server.app,
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    ...clientOpts,
  });
  clients.push(c);
  return c;
}

function file(_name: string, content: string | Buffer): string {
  const p = join(dir, randomUUID());
  writeFileSync(p, content);
  return p;
}

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest();

class MapCache implements FolderCache {
  readonly map = new Map<string, string>();
  get(p: string) {
    return this.map.get(p);
  }
  set(p: string, id: string) {
    this.map.set(p, id);
  }
  delete(p: string) {
    this.map.delete(p);
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqx-int-'));
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('against the test server', () => {
  it('token: one request for many callers, refreshed at 90% of the lifetime', async () => {
    const clock = new FakeClock();
    const c = await setup({ tokenLifetimeSec: 1000 }, { clock });
    await Promise.all(Array.from({ length: 20 }, () => c.listFolders()));
    expect(server.inspect().counters.tokens).toBe(1);
    clock.advance(899_000);
    await c.listFolders();
    expect(server.inspect().counters.tokens).toBe(1);
    clock.advance(2_000);
    await c.listFolders();
    expect(server.inspect().counters.tokens).toBe(2);
  });

  it('a token the server stopped accepting is dropped and the request retried once', async () => {
    const c = await setup();
    await c.listFolders();
    await fetch(`${server.url}/_test/expire-tokens`, { method: 'POST' });
    server.resetCounters();
    expect(await c.listFolders()).toEqual([]);
    const { byRoute, tokens } = server.inspect().counters;
    expect(tokens).toBe(1);
    expect(byRoute['GET /assets/folders']).toBe(2);
  });

  it('wrong secret: AUTH_FAILED naming the client id, secret never in message or logs', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'trace',
      destination: new Writable({
        write: (c, _e, cb) => {
          lines.push(String(c));
          cb();
        },
      }),
    });
    server = await startTestServer();
    const secret = 'wrong-but-still-secret-42';
    const c = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: secret, logger });
    clients.push(c);
    const e = (await c.listFolders().catch((x: unknown) => x)) as SquidexError;
    expect(e).toMatchObject({ code: 'AUTH_FAILED', retry: 'never', status: 401 });
    expect(e.message).toContain(server.clientId);
    expect([e.message, e.hint, e.stack, JSON.stringify(e), lines.join('')].join('\n')).not.toContain(secret);
  });

  it('folder CRUD and resolve: 20 concurrent overlapping resolves create each folder once', async () => {
    const c = await setup();
    const r = new FolderResolver(c, new MapCache());
    const paths = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'Marketing/Shared/2026' : 'Marketing/Shared/2025'));
    const ids = await Promise.all(paths.map((p) => r.resolve(p)));
    expect(server.inspect().counters.byRoute['POST /assets/folders']).toBe(4);
    expect(new Set(ids).size).toBe(2);
    const folders = server.inspect().folders.filter((f) => !f.deleted);
    expect(folders.map((f) => f.folderName).sort()).toEqual(['2025', '2026', 'Marketing', 'Shared']);

    const shared = folders.find((f) => f.folderName === 'Shared')!;
    expect((await c.listFolders(shared.id)).map((f) => f.folderName)).toEqual(['2025', '2026']);
    expect(await c.listFolders()).toHaveLength(4);
    const renamed = await c.renameFolder(shared.id, 'Common');
    expect(renamed.folderName).toBe('Common');
    const moved = await c.moveFolder(shared.id, ROOT_FOLDER_ID);
    expect(moved.parentId).toBe(ROOT_FOLDER_ID);
    await c.deleteFolder(shared.id);
    r.invalidate('Marketing');
    expect(await r.resolve('Marketing/Shared/2026')).not.toBe(ids[1]);
  });

  it('upsert, replace, annotate, move, find, get, delete', async () => {
    const c = await setup();
    const folder = await c.createFolder('Brand', ROOT_FOLDER_ID);
    const other = await c.createFolder('Old', ROOT_FOLDER_ID);
    const id = randomUUID();
    const up = await c.upsertAsset(id, folder.id, { path: file('a', 'hello world'), fileName: 'hello.txt' });
    expect(up).toMatchObject({ bytes: 11, sha256: sha('hello world').toString('hex') });
    expect(up.asset).toMatchObject({ id, parentId: folder.id, fileName: 'hello.txt', mimeType: 'text/plain', fileSize: 11 });
    expect(up.asset.fileHash).toBe(squidexFileHash(sha('hello world').toString('base64'), 'hello.txt', 11));

    // the same upsert again (a retry after a lost response) is idempotent: still one asset
    await c.upsertAsset(id, folder.id, { path: file('a', 'hello world'), fileName: 'hello.txt' });
    expect(server.inspect().createdIds[id]).toBe(1);

    const rep = await c.replaceContent(id, { path: file('b', 'hello again'), fileName: 'hello.txt' });
    expect(rep.asset.fileVersion).toBe(1);
    expect(server.inspect().assets.find((a) => a.id === id)!.sha256).toBe(rep.sha256);

    const ann = await c.annotate(id, { fileName: 'renamed.txt', metadata: { 'sync-sha256': rep.sha256, 'sync-path': "it's/a b.txt" } });
    expect(ann).toMatchObject({ fileName: 'renamed.txt', metadata: { 'sync-sha256': rep.sha256 } });

    const mv = await c.moveAsset(id, other.id);
    expect(mv.parentId).toBe(other.id);

    expect((await c.findAssets({ parentId: other.id })).map((a) => a.id)).toEqual([id]);
    expect(await c.findAssets({ parentId: folder.id })).toEqual([]);
    expect((await c.findAssets({ fileName: 'renamed.txt' })).map((a) => a.id)).toEqual([id]);
    expect((await c.findAssets({ fileHash: rep.asset.fileHash })).map((a) => a.id)).toEqual([id]);
    expect((await c.findAssets({ metadata: { 'sync-path': "it's/a b.txt" } })).map((a) => a.id)).toEqual([id]);
    expect(await c.findAssets({ metadata: { 'sync-path': 'nope' } })).toEqual([]);

    expect((await c.getAsset(id))!.fileName).toBe('renamed.txt');
    await c.deleteAsset(id);
    expect(await c.getAsset(id)).toBeNull();
    expect(await c.getAsset('never-existed')).toBeNull();
  });

  it('findAssets pages past 200 results', async () => {
    const c = await setup();
    const p = file('x', 'x');
    await Promise.all(Array.from({ length: 205 }, (_, i) => c.upsertAsset(`a-${i}`, ROOT_FOLDER_ID, { path: p, fileName: `f${i}.txt` })));
    expect(await c.findAssets({})).toHaveLength(205);
    expect(await c.findAssets({ top: 10, skip: 200 })).toHaveLength(5);
  });

  it('content type per extension and non-ASCII names round-trip', async () => {
    const c = await setup();
    const cases: Array<[string, string]> = [
      ['logo.png', 'image/png'],
      ['Foto Übersicht.JPG', 'image/jpeg'],
      ['brochure.pdf', 'application/pdf'],
      ['日本語のファイル.svg', 'image/svg+xml'],
      ['Ελληνικά "quoted".txt', 'text/plain'],
      ['no-ext', 'application/octet-stream'],
    ];
    for (const [name, type] of cases) {
      const body = name === '日本語のファイル.svg' ? '<svg xmlns="http://www.w3.org/2000/svg"/>' : `content of ${name}`;
      const r = await c.upsertAsset(randomUUID(), ROOT_FOLDER_ID, { path: file(name, body), fileName: name });
      expect(r.asset).toMatchObject({ fileName: name, mimeType: type });
      expect(r.asset.fileHash).toBe(squidexFileHash(sha(body).toString('base64'), name, Buffer.byteLength(body)));
    }
  });

  it('a missing folder is FOLDER_NOT_FOUND', async () => {
    const c = await setup();
    const e = await c.upsertAsset(randomUUID(), randomUUID(), { path: file('a', 'a'), fileName: 'a.txt' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'FOLDER_NOT_FOUND', retry: 'never', status: 400 });
  });

  it('an oversize upload is TOO_LARGE with file name, size, the limit the server stated and the maxSize hint', async () => {
    const c = await setup({ maxUploadBytes: 1024 * 1024 });
    const e = (await c
      .upsertAsset(randomUUID(), ROOT_FOLDER_ID, { path: file('big', Buffer.alloc(3 * 1024 * 1024)), fileName: 'poster.tif' })
      .catch((x: unknown) => x)) as SquidexError;
    expect(e).toMatchObject({ code: 'TOO_LARGE', retry: 'never', status: 413 });
    expect(e.message).toContain('"poster.tif" (3.0 MiB)');
    expect(e.message).toContain('at most 1.0 MiB (1048576 bytes)');
    expect(e.hint).toContain('ASSETS__MAXSIZE');
  });

  it('5xx is SERVER_ERROR (retry); 429 without Retry-After is a quota pause; with it, a timed pause of every worker', async () => {
    const c = await setup();
    await c.listFolders();
    server.setFaults({ rate5xx: 1 });
    expect(await c.listFolders().catch((x: unknown) => x)).toMatchObject({ code: 'SERVER_ERROR', retry: 'retry' });
    server.setFaults({ rate5xx: 0, rate429: 1, retryAfterSec: null });
    const q = (await c.listFolders().catch((x: unknown) => x)) as SquidexError;
    expect(q).toMatchObject({ code: 'RATE_LIMITED', retry: 'pause', status: 429 });
    expect(q.retryAfterMs).toBeUndefined();
    expect(q.message).toContain('quota');
    server.setFaults({ retryAfterSec: 7 });
    expect(await c.listFolders().catch((x: unknown) => x)).toMatchObject({ code: 'RATE_LIMITED', retry: 'pause', retryAfterMs: 7000 });
  });

  it('a hanging request times out; a reset mid-upload is NETWORK; a down server is NETWORK', async () => {
    const c = await setup({}, { timeoutMs: 300 });
    await c.listFolders();
    server.setFaults({ hangRate: 1 });
    expect(await c.listFolders().catch((x: unknown) => x)).toMatchObject({ code: 'TIMEOUT', retry: 'retry' });
    server.setFaults({ hangRate: 0, resetRate: 1 });
    const e = await c
      .upsertAsset('r1', ROOT_FOLDER_ID, { path: file('r', Buffer.alloc(256 * 1024)), fileName: 'r.bin' })
      .catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'NETWORK', retry: 'retry' });
    server.setFaults({ resetRate: 0, down: true });
    expect(await c.listFolders().catch((x: unknown) => x)).toMatchObject({ code: 'NETWORK', retry: 'retry' });
  });
});
