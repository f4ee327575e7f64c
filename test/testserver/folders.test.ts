import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, body, file, harness, json, type Harness } from '../support/testserver.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.server.close();
});

async function create(folderName: string, parentId?: string): Promise<Record<string, any>> {
  const res = await h.api('/assets/folders', { method: 'POST', ...json({ folderName, parentId }) });
  expect(res.status).toBe(201);
  expect(res.headers.get('etag')).toBe('"0"');
  return body(res);
}

describe('test server: asset folders', () => {
  it('creates folders with version 0 and allows duplicate names', async () => {
    const a = await create('images');
    expect(a).toMatchObject({ parentId: ROOT, folderName: 'images', version: 0 });
    expect(Object.keys(a)).toEqual(['_links', 'id', 'parentId', 'folderName', 'version']);
    const b = await create('images');
    expect(b.id).not.toBe(a.id);
  });

  it('validates folderName and parentId like the domain guards', async () => {
    const blank = await h.api('/assets/folders', { method: 'POST', ...json({ folderName: '  ' }) });
    expect(blank.status).toBe(400);
    expect(await body(blank)).toMatchObject({
      message: 'Validation error',
      details: ['FolderName: Folder name is required.'],
      statusCode: 400,
    });
    const orphan = await h.api('/assets/folders', { method: 'POST', ...json({ folderName: 'x', parentId: 'nope' }) });
    expect(orphan.status).toBe(400);
    expect((await body(orphan)).details).toEqual(['ParentId: Asset folder does not exist.']);
    const wrongType = await h.api('/assets/folders', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);
    const empty = await h.api('/assets/folders', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '' });
    expect((await body(empty)).details).toEqual(['Request body has an invalid format.']);
  });

  it('lists all folders, root folders or children, sorted by name, with the breadcrumb path', async () => {
    const b = await create('b');
    const a = await create('a');
    const child = await create('z', a.id);
    const grandchild = await create('m', child.id);
    const all = await body(await h.api('/assets/folders'));
    expect(all.items.map((f: any) => f.folderName)).toEqual(['a', 'b', 'm', 'z']);
    expect(all.total).toBe(4);
    expect(all.path).toEqual([]);
    const root = await body(await h.api(`/assets/folders?parentId=${ROOT}`));
    expect(root.items.map((f: any) => f.id)).toEqual([a.id, b.id]);
    const under = await body(await h.api(`/assets/folders?parentId=${child.id}`));
    expect(under.items.map((f: any) => f.id)).toEqual([grandchild.id]);
    expect(under.path.map((f: any) => f.folderName)).toEqual(['a', 'z']);
    const pathOnly = await body(await h.api(`/assets/folders?parentId=${child.id}&scope=Path`));
    expect(pathOnly).toMatchObject({ items: [], total: 0 });
    const unknown = await h.api('/assets/folders?parentId=unknown');
    expect(unknown.status).toBe(200);
    expect(await body(unknown)).toMatchObject({ items: [], path: [] });
  });

  it('renames (ordinal, no-op keeps the version) and moves, refusing recursion', async () => {
    const a = await create('a');
    const b = await create('b', a.id);
    const same = await h.api(`/assets/folders/${a.id}`, { method: 'PUT', ...json({ folderName: 'a' }) });
    expect((await body(same)).version).toBe(0);
    const upper = await h.api(`/assets/folders/${a.id}`, { method: 'PUT', ...json({ folderName: 'A' }) });
    expect(upper.headers.get('etag')).toBe('"1"');
    expect(await body(upper)).toMatchObject({ folderName: 'A', version: 1 });
    const loop = await h.api(`/assets/folders/${a.id}/parent`, { method: 'PUT', ...json({ parentId: b.id }) });
    expect(loop.status).toBe(400);
    expect((await body(loop)).details).toEqual(['ParentId: Cannot add folder to its own child.']);
    const toRoot = await h.api(`/assets/folders/${b.id}/parent`, { method: 'PUT', ...json({ parentId: ROOT }) });
    expect(await body(toRoot)).toMatchObject({ parentId: ROOT, version: 1 });
    const stale = await h.api(`/assets/folders/${a.id}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'If-Match': '"0"' },
      body: JSON.stringify({ folderName: 'c' }),
    });
    expect(stale.status).toBe(412);
    expect(await body(stale)).toMatchObject({ errorCode: 'OBJECT_VERSION_CONFLICT', statusCode: 412 });
  });

  it('soft-deletes a folder with its descendants and their assets; 404 unknown, 410 deleted', async () => {
    const a = await create('a');
    const b = await create('b', a.id);
    const other = await create('other');
    const inB = await body(await h.upload(`/assets?parentId=${b.id}`, [file('x.txt', 'x')]));
    const inOther = await body(await h.upload(`/assets?parentId=${other.id}`, [file('y.txt', 'y')]));
    expect((await h.api(`/assets/folders/${a.id}`, { method: 'DELETE' })).status).toBe(204);
    const all = await body(await h.api('/assets/folders'));
    expect(all.items.map((f: any) => f.id)).toEqual([other.id]);
    expect((await h.api(`/assets/${inB.id}`)).status).toBe(404);
    expect((await h.api(`/assets/${inOther.id}`)).status).toBe(200);
    const again = await h.api(`/assets/folders/${a.id}`, { method: 'DELETE' });
    expect(again.status).toBe(410);
    expect(await body(again)).toMatchObject({ errorCode: 'OBJECT_DELETED', statusCode: 410 });
    expect((await h.api('/assets/folders/nope', { method: 'DELETE' })).status).toBe(404);
    const inspected = h.server.inspect();
    expect(inspected.folders.find((f) => f.id === b.id)?.deleted).toBe(true);
    expect(inspected.assets.find((x) => x.id === inB.id)?.deleted).toBe(true);
    const intoDeleted = await h.api('/assets/folders', { method: 'POST', ...json({ folderName: 'c', parentId: b.id }) });
    expect(intoDeleted.status).toBe(400);
  });
});
