/** The five requests of the Squidex forum thread squidex-sync grew from, each answered as Squidex did. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOUNDARY, ROOT, body, harness, json, multipart, type Harness, type Part } from '../support/testserver.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.server.close();
});

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0xff, 0xd9]);
const fields = (parentId: string): Part[] => [
  { name: 'folderName', data: 'Marketing' },
  { name: 'parentId', data: parentId },
  { name: 'file', filename: 'photo.jpg', contentType: 'image/jpeg', data: jpeg },
];

describe('test server: the forum thread', () => {
  it('(1) Content-Type: application/json on a multipart body → 415 ProblemDetails', async () => {
    const res = await h.api('/assets', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: multipart([{ filename: 'photo.jpg', contentType: 'image/jpeg', data: jpeg }]),
    });
    expect(res.status).toBe(415);
    const b = await body(res);
    expect(Object.keys(b)).toEqual(['type', 'title', 'status', 'traceId']);
    expect(b).toMatchObject({ type: '', title: 'Unsupported Media Type', status: 415 });
    expect(b.traceId).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it('(2) a file part without a content type → 400 "File content-type is not defined."', async () => {
    const res = await h.upload('/assets', [{ filename: 'photo.jpg', data: jpeg }]);
    expect(res.status).toBe(400);
    const b = await body(res);
    expect(b).toMatchObject({
      message: 'Validation error',
      details: ['File content-type is not defined.'],
      statusCode: 400,
      type: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.1',
    });
    expect(b.traceId).toBeTruthy();
  });

  it('(3) multipart/form-data without a boundary → 400 "Request body has an invalid format."', async () => {
    const res = await h.upload('/assets', [{ filename: 'photo.jpg', contentType: 'image/jpeg', data: jpeg }], {
      contentType: 'multipart/form-data',
    });
    expect(res.status).toBe(400);
    expect(await body(res)).toMatchObject({
      message: 'Validation error',
      details: ['Request body has an invalid format.'],
      statusCode: 400,
    });
  });

  it('(4) folderName/parentId as body fields are ignored: 201, asset in the root', async () => {
    const folder = await body(await h.api('/assets/folders', { method: 'POST', ...json({ folderName: 'Marketing' }) }));
    const res = await h.upload('/assets', fields(folder.id));
    expect(res.status).toBe(201);
    expect(await body(res)).toMatchObject({ parentId: ROOT, fileName: 'photo.jpg', mimeType: 'image/jpeg', fileType: 'jpg' });
  });

  it('(5) the same with ?parentId=<folder id> → 201, asset in that folder', async () => {
    const folder = await body(await h.api('/assets/folders', { method: 'POST', ...json({ folderName: 'Marketing' }) }));
    const res = await h.upload(`/assets?parentId=${folder.id}`, fields(folder.id));
    expect(res.status).toBe(201);
    expect((await body(res)).parentId).toBe(folder.id);
  });

  it('counts files, not fields: none or two give "Can only upload one file."; a blank name "File name is not defined."', async () => {
    const none = await h.upload('/assets', [{ name: 'file', data: 'no filename' }]);
    expect((await body(none)).details).toEqual(['Can only upload one file.']);
    const two = await h.upload('/assets', [
      { filename: 'a.txt', contentType: 'text/plain', data: 'a' },
      { filename: 'b.txt', contentType: 'text/plain', data: 'b' },
    ]);
    expect((await body(two)).details).toEqual(['Can only upload one file.']);
    const blank = await h.upload('/assets', [{ filename: ' ', contentType: 'text/plain', data: 'a' }]);
    expect((await body(blank)).details).toEqual(['File name is not defined.']);
    const form = await h.api('/assets', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'a=b' });
    expect((await body(form)).details).toEqual(['Can only upload one file.']);
    const truncated = await h.api('/assets', {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
      body: multipart([{ filename: 'a.txt', contentType: 'text/plain', data: 'a' }]).subarray(0, 60),
    });
    expect((await body(truncated)).details).toEqual(['Request body has an invalid format.']);
    expect(h.server.inspect().assets).toEqual([]);
  });
});
