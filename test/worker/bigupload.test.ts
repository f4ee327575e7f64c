import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { ROOT_FOLDER_ID, SquidexClient, type UploadResult } from '../../src/squidex/index.js';
import { TusProtocol } from '../../src/squidex/tus.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../../src/testserver/index.js';
import { BigUploads, chunkKey, rememberedChunk, type SendArgs } from '../../src/worker/bigupload.js';
import { openInside, pinRoot, type OpenFile } from '../../src/worker/openfile.js';
import { json, startRawServer, type RawServer } from '../support/rawserver.js';
import { tempStates } from '../support/state.js';

// BigUploads and TusRun in-process, against the test server and a real state
// database: the paths the daemon tests cannot steer (a link lost mid-chunk,
// a token that expires between chunks, a Location on another host).
const MiB = 1024 * 1024;
const t = tempStates();
let server: TestServer | undefined;
let raw: RawServer | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await server?.close();
  await raw?.close();
  server = raw = undefined;
  t.cleanup();
});

async function setup(opts: TestServerOptions, chunkBytes = MiB) {
  server = await startTestServer({ maxUploadBytes: 5 * MiB, ...opts });
  const client = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret });
  closers.push(() => client.close());
  const { state } = t.fresh();
  const sent = { sent: 0, resumed: 0, again: 0 };
  const big = new BigUploads({
    client,
    state,
    clock: systemClock,
    logger: silentLogger,
    server: `${server.url}|${server.app}`,
    chunkBytes,
    tusAboveBytes: MiB,
    events: { tusBytes: (kind, n) => (sent[kind] += n) },
  });
  return { client, state, big, sent };
}

async function fileOf(size: number): Promise<{ file: OpenFile; sha: string; args: SendArgs }> {
  const root = join(t.dir(), 'share');
  mkdirSync(root);
  pinRoot(root);
  const abs = join(root, 'clip.mov');
  const data = randomBytes(size);
  writeFileSync(abs, data);
  const file = await openInside(root, abs, lstatSync(abs), 'pooled');
  closers.push(() => file.close());
  const args: SendArgs = {
    mapping: 'm',
    path: 'clip.mov',
    assetId: randomUUID(),
    parentId: ROOT_FOLDER_ID,
    fileName: 'clip.mov',
    mimeType: 'video/quicktime',
    file,
    st: file.stat,
  };
  return { file, sha: createHash('sha256').update(data).digest('hex'), args };
}

const noMultipart = (): Promise<UploadResult> => Promise.reject(new Error('multipart must not be used'));

describe('BigUploads', () => {
  it('a link lost in the middle of chunks: HEAD, the half the server kept is hashed from disk, the rest is sent once', async () => {
    const { big, state, sent } = await setup({ tus: { cutPatches: 2 } });
    const { args, sha } = await fileOf(6 * MiB + 123);
    const r = await big.send(args, noMultipart);
    expect(r.sha256).toBe(sha);
    expect(r.asset.id).toBe(args.assetId);
    const ins = server!.inspect();
    expect(ins.assets[0].sha256).toBe(sha);
    expect(ins.counters.byRoute['POST /assets/tus']).toBe(1);
    expect(ins.counters.byRoute['HEAD /assets/tus/{fileId}']).toBe(2);
    // Each cut chunk: its first half stayed on the server, its second half went again.
    expect(ins.counters.tusBytes).toBe(6 * MiB + 123);
    expect(sent.again).toBeLessThanOrEqual(2 * MiB);
    expect(state.uploads.list()).toEqual([]);
  });

  it('a token that expires between chunks: the PATCH is refused, a new token is fetched, the chunk is sent again whole', async () => {
    let patches = 0;
    const { big } = await setup({
      onRequest: async (method) => {
        if (method === 'PATCH' && ++patches === 2) await fetch(`${server!.url}/_test/expire-tokens`, { method: 'POST' });
      },
    });
    const { args, sha } = await fileOf(3 * MiB);
    const r = await big.send(args, noMultipart);
    expect(r.sha256).toBe(sha);
    expect(server!.inspect().assets[0].sha256).toBe(sha);
    expect(server!.inspect().counters.tokens).toBe(2);
  });

  it('a stop while it asks whether a lost last piece made the asset: the question is left, not waited out', async () => {
    const stop = new AbortController();
    let asked = 0;
    const { big } = await setup({
      tus: { loseFinalAnswers: 1 },
      // The asset lookup after the lost answer is read and never answered; the stop comes meanwhile.
      onRequest: (method, path) => {
        if (method !== 'GET' || !/\/assets\/[0-9a-f-]{36}$/.test(path)) return undefined;
        asked += 1;
        stop.abort(new Error('stopping'));
        return new Promise<void>(() => undefined);
      },
    });
    const { args } = await fileOf(2 * MiB);
    await expect(big.send({ ...args, signal: stop.signal }, noMultipart)).rejects.toThrow();
    expect(asked).toBe(1);
  });

  it('the upload URL, size and mtime are in the state before the first byte goes out', async () => {
    let seen: unknown;
    const { big, state } = await setup({
      onRequest: (method) => {
        if (method === 'PATCH' && seen === undefined) seen = state.uploads.get('m', 'clip.mov');
      },
    });
    const { args } = await fileOf(2 * MiB);
    await big.send(args, noMultipart);
    expect(seen).toMatchObject({
      assetId: args.assetId,
      size: 2 * MiB,
      mtimeMs: args.st.mtimeMs,
      confirmed: 0,
      url: expect.stringMatching(/\/assets\/tus\//),
    });
  });

  it('an unfinished upload of a file that has since become small is dropped before the multipart goes out', async () => {
    const stop = new AbortController();
    // Stopped at its first chunk: the row stays, as after a crash.
    const { big, state } = await setup({
      onRequest: (method) => {
        if (method === 'PATCH') stop.abort();
      },
    });
    const { args: bigger } = await fileOf(2 * MiB);
    await big.send({ ...bigger, signal: stop.signal }, noMultipart).catch(() => undefined);
    const left = state.uploads.get('m', 'clip.mov');
    expect(left).toBeDefined();
    const { args } = await fileOf(1000);
    const r = await big.send({ ...args, assetId: left!.assetId }, () =>
      Promise.resolve({ sha256: 'x', bytes: 1000, asset: { id: left!.assetId } } as UploadResult),
    );
    expect(r.bytes).toBe(1000);
    expect(state.uploads.get('m', 'clip.mov')).toBeUndefined();
  });

  it('the chunk size remembered for a server holds only while upload.chunkBytes is the one it came from', async () => {
    const { state } = await setup({});
    expect(rememberedChunk(state.meta, 's', 4 * MiB)).toBe(4 * MiB);
    state.meta.set(chunkKey('s'), JSON.stringify({ from: 4 * MiB, bytes: MiB }));
    expect(rememberedChunk(state.meta, 's', 4 * MiB)).toBe(MiB);
    expect(rememberedChunk(state.meta, 's', 8 * MiB)).toBe(8 * MiB);
    expect(rememberedChunk(state.meta, 'other', 4 * MiB)).toBe(4 * MiB);
    state.meta.set(chunkKey('s'), 'not json');
    expect(rememberedChunk(state.meta, 's', 4 * MiB)).toBe(4 * MiB);
  });
});

describe('TusProtocol', () => {
  it('a Location on another origin is refused: the token is never sent there', async () => {
    let elsewhere = 0;
    const other = await startRawServer((_req, res) => {
      elsewhere++;
      res.end();
    });
    closers.push(() => other.close());
    raw = await startRawServer((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(201, {
          'Tus-Resumable': '1.0.0',
          Location: `${other.url.replace('127.0.0.1', 'localhost')}/api/apps/demo/assets/tus/x`,
        });
        res.end();
      } else json(res, 404, {});
    });
    const client = new SquidexClient({ url: raw.url, app: 'demo', token: 'secret-token' });
    closers.push(() => client.close());
    const tus = new TusProtocol(client);
    const url = await tus.create(10, { fileName: 'a', mimeType: 'b', id: 'c', parentId: ROOT_FOLDER_ID });
    await expect(tus.offset(url, 'a')).rejects.toMatchObject({ code: 'UNEXPECTED_RESPONSE' });
    expect(elsewhere).toBe(0);
  });

  it.each([404, 405])('a creation answered %i is a server without tus', async (status) => {
    raw = await startRawServer((_req, res) => json(res, status, {}));
    const client = new SquidexClient({ url: raw.url, app: 'demo', token: 't' });
    closers.push(() => client.close());
    await expect(new TusProtocol(client).create(1, { fileName: 'a', mimeType: 'b', id: 'c', parentId: 'd' })).rejects.toMatchObject({
      code: 'TUS_UNSUPPORTED',
    });
  });

  it('metadata: our id, parentId, duplicate=true, the file name in UTF-8 and the MIME type', async () => {
    raw = await startRawServer((_req, res) => {
      res.writeHead(201, { 'Tus-Resumable': '1.0.0', Location: '/api/apps/demo/assets/tus/abc' });
      res.end();
    });
    const client = new SquidexClient({ url: raw.url, app: 'demo', token: 't' });
    closers.push(() => client.close());
    const url = await new TusProtocol(client).create(42, {
      fileName: 'Plakat Ü €.tif',
      mimeType: 'image/tiff',
      id: 'ID-1',
      parentId: 'P-1',
    });
    expect(url).toBe(`${raw.url}/api/apps/demo/assets/tus/abc`);
    const h = raw.requests[0].headers;
    expect(h['tus-resumable']).toBe('1.0.0');
    expect(h['upload-length']).toBe('42');
    const meta = Object.fromEntries(
      String(h['upload-metadata'])
        .split(',')
        .map((p) => p.split(' '))
        .map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    expect(meta).toEqual({ fileName: 'Plakat Ü €.tif', mimeType: 'image/tiff', id: 'ID-1', parentId: 'P-1', duplicate: 'true' });
  });
});
