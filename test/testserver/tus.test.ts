import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, body, file, harness, json, type Harness } from '../support/testserver.js';

// The test server's tus endpoint, as Squidex (tusdotnet) has it: reference/squidex-api.md §8.
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const V = { 'Tus-Resumable': '1.0.0' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  h = undefined;
});

function metadata(m: Record<string, string>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');
}

async function create(hh: Harness, length: number, meta: Record<string, string>, headers: Record<string, string> = V): Promise<Response> {
  return hh.api('/assets/tus', {
    method: 'POST',
    headers: { ...headers, 'Upload-Length': String(length), 'Upload-Metadata': metadata(meta) },
  });
}

/** Absolute URL of an upload from its (relative) Location. */
function at(hh: Harness, res: Response): string {
  return new URL(res.headers.get('location')!, hh.server.url).toString();
}

function call(hh: Harness, url: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
  return fetch(url, { ...init, headers: { Authorization: `Bearer ${hh.token}`, ...init.headers } });
}

function patch(hh: Harness, url: string, offset: number, data: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return call(hh, url, {
    method: 'PATCH',
    headers: { ...V, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...headers },
    body: data,
  });
}

async function head(hh: Harness, url: string): Promise<Response> {
  return call(hh, url, { method: 'HEAD', headers: V });
}

describe('test server: tus', () => {
  it('creation, chunks, HEAD and the 201 with the asset on completion; 404 for the upload afterwards', async () => {
    h = await harness({ maxUploadBytes: 64 * 1024 });
    const id = randomUUID();
    const data = randomBytes(150 * 1024);
    const options = await h.api('/assets/tus', { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('tus-version')).toBe('1.0.0');
    expect(options.headers.get('tus-extension')).toContain('creation');

    const created = await create(h, data.length, {
      fileName: 'clip.mov',
      mimeType: 'video/quicktime',
      id,
      parentId: ROOT,
      duplicate: 'true',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('tus-resumable')).toBe('1.0.0');
    expect(created.headers.get('upload-expires')).toBeTruthy();
    // Squidex hands tusdotnet a path, so the Location is relative.
    expect(created.headers.get('location')).toMatch(/^\/api\/apps\/demo\/assets\/tus\/[0-9a-f]+$/);
    const url = at(h, created);

    const first = await patch(h, url, 0, data.subarray(0, 64 * 1024));
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe(String(64 * 1024));
    const probe = await head(h, url);
    expect(probe.status).toBe(200);
    expect(probe.headers.get('upload-offset')).toBe(String(64 * 1024));
    expect(probe.headers.get('upload-length')).toBe(String(data.length));
    expect(probe.headers.get('cache-control')).toBe('no-store');
    expect(h.server.inspect().tus).toEqual([expect.objectContaining({ offset: 64 * 1024, length: data.length })]);

    expect((await patch(h, url, 64 * 1024, data.subarray(64 * 1024, 128 * 1024))).status).toBe(204);
    const last = await patch(h, url, 128 * 1024, data.subarray(128 * 1024));
    expect(last.status).toBe(201);
    const asset = await body(last);
    expect(asset).toMatchObject({ id, fileName: 'clip.mov', mimeType: 'video/quicktime', fileSize: data.length, parentId: ROOT });
    expect(h.server.inspect().assets[0].sha256).toBe(sha(data));
    // Chunks are dropped on assembly.
    expect((await head(h, url)).status).toBe(404);
    expect((await patch(h, url, data.length, Buffer.alloc(0))).status).toBe(404);
    const c = h.server.inspect().counters;
    expect(c.tusBytes).toBe(data.length);
    expect(c.byRoute['PATCH /assets/tus/{fileId}']).toBe(4);
    expect(c.byRoute['POST /assets/tus']).toBe(1);
  });

  it('is an upsert: an existing id gets new content and keeps its id; no parentId never moves it', async () => {
    h = await harness();
    const folder = (await body(await h.api('/assets/folders', { method: 'POST', ...json({ folderName: 'F' }) }))).id;
    const up = await h.upload(`/assets?parentId=${folder}`, [file('a.bin', 'old', 'application/octet-stream')]);
    const id = (await body(up)).id;
    const data = Buffer.from('new content');
    const url = at(h, await create(h, data.length, { fileName: 'a.bin', id }));
    const done = await patch(h, url, 0, data);
    expect(done.status).toBe(201);
    expect(await body(done)).toMatchObject({ id, parentId: folder, fileSize: data.length, fileVersion: 1 });
  });

  it('duplicate=false finds a duplicate; no id makes a new one; keys are case-insensitive', async () => {
    h = await harness();
    const data = Buffer.from('same bytes');
    const firstUrl = at(h, await create(h, data.length, { FILENAME: 'x.txt', MimeType: 'text/plain' }));
    const first = await body(await patch(h, firstUrl, 0, data));
    expect(first.fileName).toBe('x.txt');
    expect(first.mimeType).toBe('text/plain');
    const url = at(h, await create(h, data.length, { fileName: 'x.txt', duplicate: 'false' }));
    const dup = await body(await patch(h, url, 0, data));
    expect(dup.id).toBe(first.id);
    expect(dup._meta).toEqual({ isDuplicate: 'true' });
  });

  it('412 without Tus-Resumable, 415 on a PATCH with another content type, 409 on an offset mismatch', async () => {
    h = await harness();
    const noVersion = await create(h, 10, { fileName: 'a' }, {});
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get('tus-version')).toBe('1.0.0');
    const url = at(h, await create(h, 10, { fileName: 'a' }));
    const wrongType = await patch(h, url, 0, Buffer.alloc(5), { 'Content-Type': 'application/octet-stream' });
    expect(wrongType.status).toBe(415);
    expect((await patch(h, url, 0, Buffer.alloc(5))).status).toBe(204);
    const mismatch = await patch(h, url, 0, Buffer.alloc(5));
    expect(mismatch.status).toBe(409);
    expect((await head(h, url)).headers.get('upload-offset')).toBe('5');
    expect((await call(h, url, { method: 'HEAD' })).status).toBe(412);
  });

  it('applies the per-request limit to each PATCH (413), and a body past the upload length is a 400', async () => {
    h = await harness({ maxUploadBytes: 1000 });
    const url = at(h, await create(h, 5000, { fileName: 'a' }));
    const big = await patch(h, url, 0, Buffer.alloc(1001));
    expect(big.status).toBe(413);
    expect((await head(h, url)).headers.get('upload-offset')).toBe('0');
    const small = at(h, await create(h, 10, { fileName: 'b' }));
    expect((await patch(h, small, 0, Buffer.alloc(11))).status).toBe(400);
  });

  it('keeps the bytes of a PATCH that breaks off, as tusdotnet writes while it reads', async () => {
    h = await harness();
    const url = at(h, await create(h, 1_000_000, { fileName: 'a' }));
    const u = new URL(url);
    await new Promise<void>((resolve) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PATCH',
        headers: {
          ...V,
          Authorization: `Bearer ${h!.token}`,
          'Content-Type': 'application/offset+octet-stream',
          'Upload-Offset': '0',
          'Content-Length': '1000000',
        },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(300_000), () => setTimeout(() => req.destroy(), 100));
      req.on('close', () => resolve());
    });
    let offset = 0;
    for (let i = 0; i < 50 && offset === 0; i++) {
      offset = Number((await head(h, url)).headers.get('upload-offset'));
      if (offset === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(offset).toBe(300_000);
    expect((await patch(h, url, offset, Buffer.alloc(1_000_000 - offset))).status).toBe(201);
  });

  it('DELETE terminates an upload; an expired upload is 404', async () => {
    h = await harness({ tus: { expiryMs: 60_000 } });
    const url = at(h, await create(h, 10, { fileName: 'a' }));
    expect((await call(h, url, { method: 'DELETE', headers: V })).status).toBe(204);
    expect((await head(h, url)).status).toBe(404);
    expect((await call(h, url, { method: 'DELETE', headers: V })).status).toBe(404);
    const other = at(h, await create(h, 10, { fileName: 'b' }));
    h.server.setTus({ expireAll: true });
    expect((await head(h, other)).status).toBe(404);
    expect(h.server.inspect().tus).toEqual([]);
  });

  it('a lost or failed completing answer still leaves the asset written', async () => {
    h = await harness({ tus: { loseFinalAnswers: 1, failFinalAnswers: 1 } });
    const id = randomUUID();
    const lost = at(h, await create(h, 3, { fileName: 'a', id }));
    await expect(patch(h, lost, 0, Buffer.from('abc'))).rejects.toThrow();
    expect(h.server.inspect().assets.map((a) => a.id)).toEqual([id]);
    const failed = at(h, await create(h, 3, { fileName: 'a', id }));
    expect((await patch(h, failed, 0, Buffer.from('xyz'))).status).toBe(500);
    expect(h.server.inspect().assets[0].fileSize).toBe(3);
    expect((await head(h, failed)).status).toBe(404);
  });

  it('off: the route is an upsert of an asset called "tus", as on a Squidex without the endpoint', async () => {
    h = await harness({ tus: false });
    const res = await create(h, 10, { fileName: 'a' });
    expect(res.status).toBe(415);
    expect(res.headers.get('tus-resumable')).toBeNull();
    expect((await h.api('/assets/tus', { method: 'OPTIONS' })).status).toBe(404);
    h.server.setTus({ enabled: true });
    expect((await create(h, 10, { fileName: 'a' })).status).toBe(201);
  });

  it('a proxy body limit answers 413 with its HTML page before the app', async () => {
    h = await harness({ proxyMaxBodyBytes: 1000 });
    const url = at(h, await create(h, 5000, { fileName: 'a' }));
    const res = await patch(h, url, 0, Buffer.alloc(1001));
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('nginx');
    expect((await patch(h, url, 0, Buffer.alloc(1000))).status).toBe(204);
  });
});
