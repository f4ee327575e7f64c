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

const put = (path: string, payload: unknown, headers: Record<string, string> = {}) =>
  h.api(path, { method: 'PUT', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(payload) });

describe('test server: upsert, replace, annotate, move, delete', () => {
  it('upserts: 200 always, creates with the id, replaces content, moves to root without parentId', async () => {
    const f = await folder('f');
    const created = await h.upload(`/assets/a1?parentId=${f}&duplicate=true`, [file('a.txt', 'one')]);
    expect(created.status).toBe(200);
    expect(await body(created)).toMatchObject({ id: 'a1', parentId: f, version: 0 });
    // Same bytes again with duplicate=true: no event, same version, still in f.
    const same = await body(await h.upload(`/assets/a1?parentId=${f}&duplicate=true`, [file('a.txt', 'one')]));
    expect(same).toMatchObject({ version: 0, fileVersion: 0, parentId: f });
    // Without duplicate=true the upsert finds itself as a duplicate and does nothing.
    const self = await h.upload('/assets/a1', [file('a.txt', 'one')]);
    expect(self.status).toBe(200);
    expect(await body(self)).toMatchObject({ id: 'a1', parentId: f, _meta: { isDuplicate: 'true' } });
    const changed = await body(await h.upload(`/assets/a1?parentId=${f}&duplicate=true`, [file('renamed.txt', 'two')]));
    expect(changed).toMatchObject({ fileName: 'a.txt', fileVersion: 1, version: 1, fileSize: 3 });
    const toRoot = await body(await h.upload('/assets/a1?duplicate=true', [file('renamed.txt', 'two')]));
    expect(toRoot).toMatchObject({ parentId: ROOT, version: 2 });
    const stale = await h.upload('/assets/a1?duplicate=true', [file('x.txt', 'three')], { headers: { 'If-Match': '"0"' } });
    expect(stale.status).toBe(412);
    expect(h.server.inspect().createdIds).toEqual({ a1: 1 });
  });

  it('replaces content: keeps name and slug, hashes with the uploaded name, same hash is no change, 404/410', async () => {
    const a = await body(await h.upload('/assets', [file('Logo Squared.png', 'png-1', 'image/png')]));
    await put(`/assets/${a.id}`, { metadata: { stamp: 'x' } });
    const res = await h.api(`/assets/${a.id}/content`, {
      method: 'PUT',
      headers: { 'Content-Type': 'multipart/form-data; boundary=b' },
      body: `--b\r\nContent-Disposition: form-data; name="file"; filename="hello.txt"\r\nContent-Type: text/plain\r\n\r\nhello world\r\n--b--\r\n`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(await body(res)).toMatchObject({
      fileName: 'Logo Squared.png',
      slug: 'logo-squared.png',
      mimeType: 'text/plain',
      fileHash: 'bvM8MvcTgEVk5T9nZO5U2Aj9Bww2UHlCSYi9LwFDNX0=',
      metadata: {},
      fileVersion: 1,
      version: 2,
    });
    const again = await h.upload(`/assets/${a.id}/content`, [file('hello.txt', 'hello world')], { method: 'PUT' });
    expect(await body(again)).toMatchObject({ fileVersion: 1, version: 2 });
    expect((await h.upload('/assets/missing/content', [file('a.txt', 'a')], { method: 'PUT' })).status).toBe(404);
    await h.api(`/assets/${a.id}`, { method: 'DELETE' });
    const gone = await h.upload(`/assets/${a.id}/content`, [file('a.txt', 'a')], { method: 'PUT' });
    expect(gone.status).toBe(410);
    expect(await body(gone)).toMatchObject({ errorCode: 'OBJECT_DELETED', message: `Entity (demo-app-id--${a.id}) has been deleted.` });
  });

  it('annotates: case-insensitive names, whole-set tags and metadata, no-op keeps the version', async () => {
    const a = await body(await h.upload('/assets', [file('a.txt', 'a')]));
    const caseOnly = await body(await put(`/assets/${a.id}`, { fileName: 'A.TXT' }));
    expect(caseOnly).toMatchObject({ fileName: 'a.txt', version: 0 });
    const r = await put(`/assets/${a.id}`, { fileName: 'b.txt', slug: 'b', tags: ['x'], metadata: { k: 'v' } });
    expect(r.headers.get('etag')).toBe('"1"');
    expect(await body(r)).toMatchObject({ fileName: 'b.txt', slug: 'b', tags: ['x'], metadata: { k: 'v' }, version: 1 });
    expect((await body(await put(`/assets/${a.id}`, { metadata: { k: 'v' }, tags: ['x'] }))).version).toBe(1);
    expect((await put(`/assets/${a.id}`, { slug: 'c' }, { 'If-Match': '"0"' })).status).toBe(412);
    expect((await put(`/assets/${a.id}`, { slug: 'c' }, { 'If-Match': 'W/"1"' })).status).toBe(200);
    // Unquoted If-Match does not parse and is ignored.
    expect((await put(`/assets/${a.id}`, { slug: 'd' }, { 'If-Match': '0' })).status).toBe(200);
    expect((await h.api(`/assets/${a.id}`, { method: 'PUT', headers: { 'Content-Type': 'text/plain' }, body: '{}' })).status).toBe(415);
    const broken = await h.api(`/assets/${a.id}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{x' });
    expect(broken.status).toBe(400);
    expect((await body(broken)).message).toBe('Validation error');
  });

  it('moves between folders, validating the target; deletes soft and permanently', async () => {
    const f = await folder('f');
    const a = await body(await h.upload('/assets', [file('a.txt', 'a')]));
    expect(await body(await put(`/assets/${a.id}/parent`, { parentId: f }))).toMatchObject({ parentId: f, version: 1 });
    expect((await body(await put(`/assets/${a.id}/parent`, { parentId: f }))).version).toBe(1);
    const bad = await put(`/assets/${a.id}/parent`, { parentId: 'nope' });
    expect(bad.status).toBe(400);
    expect((await body(bad)).details).toEqual(['ParentId: Asset folder does not exist.']);
    expect((await body(await put(`/assets/${a.id}/parent`, {}))).parentId).toBe(ROOT);

    expect((await h.api(`/assets/${a.id}`, { method: 'DELETE', headers: { 'If-Match': '"0"' } })).status).toBe(412);
    expect((await h.api(`/assets/${a.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await h.api(`/assets/${a.id}`)).status).toBe(404);
    expect((await h.api(`/assets/${a.id}`, { method: 'DELETE' })).status).toBe(410);
    expect(h.server.inspect().assets[0]).toMatchObject({ id: a.id, deleted: true });
    expect((await h.api(`/assets/${a.id}?permanent=true`, { method: 'DELETE' })).status).toBe(204);
    expect(h.server.inspect().assets).toEqual([]);
    expect((await h.api(`/assets/${a.id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('test server: GET /assets', () => {
  it('filters by parentId, fileHash, fileName and metadata, joined with and', async () => {
    const f = await folder('f');
    const a = await body(await h.upload(`/assets?parentId=${f}`, [file('hello.txt', 'hello world')]));
    const b = await body(await h.upload('/assets', [file("it's.txt", 'b')]));
    await put(`/assets/${b.id}`, { metadata: { 'sync-path': 'x/y.txt' } });
    const q = async (query: string) => (await body(await h.api(`/assets?${query}`))).items.map((x: any) => x.id);
    expect(await q(`parentId=${f}`)).toEqual([a.id]);
    expect(await q(`parentId=${ROOT}`)).toEqual([b.id]);
    expect(await q(`$filter=${encodeURIComponent(`fileHash eq '${a.fileHash}'`)}`)).toEqual([a.id]);
    expect(await q(`$filter=${encodeURIComponent(`fileName eq 'it''s.txt'`)}`)).toEqual([b.id]);
    expect(await q(`$filter=${encodeURIComponent(`metadata/sync-path eq 'x/y.txt' and fileName eq 'it''s.txt'`)}`)).toEqual([b.id]);
    expect(await q(`$filter=${encodeURIComponent(`fileHash eq '${a.fileHash}' and fileName eq 'other'`)}`)).toEqual([]);
    expect(await q(`ids=${b.id},${a.id}`)).toEqual([b.id, a.id]);
    const bad = await h.api(`/assets?$filter=${encodeURIComponent('fileName gt 1')}`);
    expect(bad.status).toBe(400);
    await h.api(`/assets/${a.id}`, { method: 'DELETE' });
    expect(await q('')).toEqual([b.id]);
    expect(await q(`$filter=${encodeURIComponent('isDeleted eq true')}`)).toEqual([a.id]);
  });

  it('sorts by lastModified desc then id, pages with $top/$skip, caps at 200', async () => {
    for (let i = 0; i < 205; i++) await h.upload('/assets?duplicate=true', [file(`f${i}.txt`, `${i}`)]);
    const first = await body(await h.api('/assets'));
    expect(first.total).toBe(205);
    expect(first.items).toHaveLength(200);
    const times = first.items.map((x: any) => Date.parse(x.lastModified));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect((await body(await h.api('/assets?$top=500'))).items).toHaveLength(200);
    const page = await body(await h.api('/assets?$top=10&$skip=200'));
    expect(page.items).toHaveLength(5);
    const ids = new Set([...first.items, ...page.items].map((x: any) => x.id));
    expect(ids.size).toBe(205);
  });
});
