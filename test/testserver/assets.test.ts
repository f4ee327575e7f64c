import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, body, file, harness, json, type Harness } from '../support/testserver.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.server.close();
});

async function folder(name: string): Promise<string> {
  return (await body(await h.api('/assets/folders', { method: 'POST', ...json({ folderName: name }) }))).id;
}

describe('test server: uploads', () => {
  it('creates an asset with every AssetDto field and the reference fileHash vectors', async () => {
    const res = await h.upload('/assets', [file('hello.txt', 'hello world')]);
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe('"0"');
    const a = await body(res);
    expect(res.headers.get('location')).toBe(`${h.server.url}/api/apps/demo/assets/${a.id}`);
    expect(a).toMatchObject({
      parentId: ROOT,
      fileName: 'hello.txt',
      fileHash: 'bvM8MvcTgEVk5T9nZO5U2Aj9Bww2UHlCSYi9LwFDNX0=',
      isProtected: false,
      slug: 'hello.txt',
      mimeType: 'text/plain',
      fileType: 'txt',
      metadataText: '11 bytes',
      metadata: {},
      tags: ['type/txt'],
      fileSize: 11,
      fileVersion: 0,
      type: 'Unknown',
      createdBy: 'client:demo:sync',
      lastModifiedBy: 'client:demo:sync',
      version: 0,
      isImage: false,
    });
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(a._links.upload).toEqual({ href: `/api/apps/demo/assets/${a.id}/content`, method: 'PUT' });
    expect(a._meta).toBeUndefined();
    const empty = await body(await h.upload('/assets', [file('empty.txt', '')]));
    expect(empty).toMatchObject({ fileHash: 'dyuJYrdW4T7pKc0LVqy8APmmcvZJGHZdAthBpGAGOOw=', fileSize: 0, metadataText: '0 bytes' });
    const img = await body(await h.upload('/assets', [file('My Image.JPEG', 'x', 'image/jpeg')]));
    expect(img).toMatchObject({ slug: 'my-image.jpeg', fileType: 'jpg', tags: ['type/jpg'] });
    const inspected = h.server.inspect();
    expect(inspected.assets.find((x) => x.id === a.id)?.sha256).toBe('b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
    expect(inspected.counters).toMatchObject({ uploads: 3, uploadBytes: 12 });
    expect(inspected.createdIds[a.id]).toBe(1);
  });

  it('applies the app-wide duplicate rule unless duplicate=true', async () => {
    const f = await folder('f');
    const first = await body(await h.upload(`/assets?parentId=${f}`, [file('a.txt', 'same')]));
    const again = await h.upload('/assets', [file('a.txt', 'same')]);
    expect(again.status).toBe(201);
    const dup = await body(again);
    expect(dup).toMatchObject({ id: first.id, parentId: f, _meta: { isDuplicate: 'true' } });
    // Same bytes under another name is not a duplicate: the name is part of the rule.
    const other = await body(await h.upload('/assets', [file('b.txt', 'same')]));
    expect(other.id).not.toBe(first.id);
    const forced = await body(await h.upload('/assets?duplicate=true', [file('a.txt', 'same')]));
    expect(forced.id).not.toBe(first.id);
    expect(forced._meta).toBeUndefined();
    // Duplicate check runs before folder validation.
    expect((await h.upload('/assets?parentId=missing', [file('a.txt', 'same')])).status).toBe(201);
    expect((await h.upload('/assets?parentId=missing&duplicate=true', [file('a.txt', 'same')])).status).toBe(400);
  });

  it('takes parentId and ParentId from the query, and custom ids: 409 when live, re-created when deleted', async () => {
    const f = await folder('f');
    const upper = await body(await h.upload(`/assets?ParentId=${f}&duplicate=true`, [file('u.txt', 'u')]));
    expect(upper.parentId).toBe(f);
    const created = await body(await h.upload('/assets?id=my-id&duplicate=true', [file('c.txt', 'c')]));
    expect(created.id).toBe('my-id');
    const conflict = await h.upload('/assets?id=my-id&duplicate=true', [file('d.txt', 'd')]);
    expect(conflict.status).toBe(409);
    expect(await body(conflict)).toMatchObject({
      message: 'Entity (demo-app-id--my-id) already exists.',
      errorCode: 'OBJECT_CONFLICT',
      statusCode: 409,
    });
    expect((await h.api('/assets/my-id', { method: 'DELETE' })).status).toBe(204);
    const recreated = await body(await h.upload('/assets?id=my-id&duplicate=true', [file('e.txt', 'e')]));
    expect(recreated).toMatchObject({ id: 'my-id', fileName: 'e.txt', version: 2 });
    expect(h.server.inspect().createdIds['my-id']).toBe(2);
  });

  it('decodes RFC 5987 filename* for non-ASCII names', async () => {
    const res = await h.upload('/assets', [
      { filename: 'fallback.txt', filenameStar: 'Grüße 日本.txt', contentType: 'text/plain', data: 'x' },
    ]);
    const a = await body(res);
    expect(a.fileName).toBe('Grüße 日本.txt');
    expect(a.slug).toBe('gruesse-日本.txt');
    const raw = await h.upload('/assets', [{ filename: 'café.txt', contentType: 'text/plain', data: 'y' }]);
    expect((await body(raw)).fileName).toBe('café.txt');
  });

  it('answers 413 with the Kestrel message once the body passes maxUploadBytes', async () => {
    await h.server.close();
    h = await harness({ maxUploadBytes: 1000 });
    const res = await h.upload('/assets', [file('big.bin', Buffer.alloc(5000), 'application/octet-stream')]);
    expect(res.status).toBe(413);
    const b = await body(res);
    expect(b).toMatchObject({
      message: 'Failed to read the request form. Request body too large. The max request body size is 1000 bytes.',
      statusCode: 413,
    });
    expect(b.type).toBeUndefined();
    // Streamed without Content-Length, the limit is found while reading.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(
          new TextEncoder().encode(`--b\r\nContent-Disposition: form-data; name="file"; filename="s.bin"\r\nContent-Type: x/y\r\n\r\n`),
        );
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(500));
        c.close();
      },
    });
    const chunked = await h.api('/assets', {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data; boundary=b' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(h.server.inspect().assets).toEqual([]);
    expect((await h.upload('/assets', [file('ok.txt', 'fine')])).status).toBe(201);
  });

  it('serves stored bytes on /api/assets/{app}/{id}, and stores only the hash with keepBytes: false', async () => {
    const a = await body(await h.upload('/assets', [file('r.bin', Buffer.from([0, 1, 2, 255]), 'application/octet-stream')]));
    const res = await fetch(`${h.server.url}/api/assets/demo/${a.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    await h.server.close();
    h = await harness({ keepBytes: false });
    const b = await body(await h.upload('/assets', [file('hello.txt', 'hello world')]));
    expect(b.fileHash).toBe('bvM8MvcTgEVk5T9nZO5U2Aj9Bww2UHlCSYi9LwFDNX0=');
    expect(h.server.inspect().assets[0].sha256).toBe('b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9');
    expect((await fetch(`${h.server.url}/api/assets/demo/${b.id}`)).status).toBe(404);
  });
});

describe('test server: bulk (reference §9)', () => {
  it('runs Annotate, Move and Delete jobs in order, reports a missing asset per job, and refuses an unknown type whole', async () => {
    const a = await body(await h.upload('/assets', [file('a.txt', 'a')]));
    const b = await body(await h.upload('/assets', [file('b.txt', 'b')]));
    const target = await folder('moved');
    const missing = '11111111-1111-1111-1111-111111111111';
    const res = await h.api('/assets/bulk', {
      method: 'POST',
      ...json({
        jobs: [
          { id: a.id, type: 'Annotate', fileName: 'renamed.txt', metadata: { k: 'v' } },
          { id: a.id, type: 'Move', parentId: target },
          { id: missing, type: 'Annotate', metadata: {} },
          { id: b.id, type: 'Delete' },
        ],
      }),
    });
    expect(res.status).toBe(200);
    const results = (await res.json()) as Array<{ jobIndex: number; id: string; error?: { message: string; statusCode: number } }>;
    expect(results.map((r) => [r.jobIndex, r.id, r.error?.statusCode ?? null])).toEqual([
      [0, a.id, null],
      [1, a.id, null],
      [2, missing, 404],
      [3, b.id, null],
    ]);
    expect(results[2]!.error!.message).toBe('OBJECT_NOTFOUND');
    const after = await body(await h.api(`/assets/${a.id}`));
    expect(after).toMatchObject({ fileName: 'renamed.txt', metadata: { k: 'v' }, parentId: target, version: 2 });
    expect((await h.api(`/assets/${b.id}`)).status).toBe(404);
    expect(h.server.inspect().counters.byRoute['POST /assets/bulk']).toBe(1);

    const bad = await h.api('/assets/bulk', {
      method: 'POST',
      ...json({
        jobs: [
          { id: a.id, type: 'Annotate' },
          { id: a.id, type: 'Upload' },
        ],
      }),
    });
    expect(bad.status).toBe(400);
    expect((await body(await h.api(`/assets/${a.id}`))).version).toBe(2); // nothing ran
  });
});
