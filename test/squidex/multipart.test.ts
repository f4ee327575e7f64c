import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SquidexClient } from '../../src/squidex/index.js';
import { allocWithEnvelopeRoom, giveBack, openMultipart } from '../../src/squidex/multipart.js';
import { json, startRawServer, type RawServer } from '../support/rawserver.js';

let server: RawServer | undefined;
let client: SquidexClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const asset = { id: 'a1', parentId: 'p', fileName: 'x', slug: 'x', mimeType: 'x', fileSize: 1, fileVersion: 0, version: 0, metadata: {} };

/** The body the forum thread's rules ask for, for this boundary. */
function expectedBody(boundary: string, quoted: string, encoded: string, mime: string, content: Buffer): Buffer {
  const preamble =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted}"; ` +
    `filename*=UTF-8''${encoded}\r\nContent-Type: ${mime}\r\n\r\n`;
  return Buffer.concat([Buffer.from(preamble), content, Buffer.from(`\r\n--${boundary}--\r\n`)]);
}

function roomy(content: Buffer): Buffer {
  const data = allocWithEnvelopeRoom(content.length);
  content.copy(data);
  return data;
}

describe('a small file sent from memory', () => {
  it('writes the envelope around the bytes in their own memory instead of copying them', async () => {
    const content = Buffer.from('small file\n'.repeat(300));
    const data = roomy(content);
    const mp = await openMultipart({ path: '/x/a.png', fileName: 'a.png', bytes: { data, sha256: sha(content) } });
    const body = mp.body as Buffer;
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body.buffer).toBe(data.buffer);
    expect(body.byteOffset + body.length - data.byteOffset - data.length).toBe(
      Buffer.byteLength(`\r\n--${mp.contentType.split('=')[1]}--\r\n`),
    );
    expect(data.equals(content)).toBe(true);
    const boundary = mp.contentType.split('boundary=')[1];
    expect(body.equals(expectedBody(boundary, 'a.png', 'a.png', 'image/png', content))).toBe(true);
    expect(mp.contentLength).toBe(body.length);
    expect(mp.sent()).toEqual({ sha256: sha(content), bytes: content.length });
  });

  it('sends byte-identical bodies with and without room, again on a second send, and with a name too long for the room', async () => {
    server = await startRawServer((_req, res) => json(res, 200, asset));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const content = Buffer.from('hello world\n'.repeat(700));
    const name = 'Grüße – 日本 "q".png';
    const quoted = 'Grüße – 日本 %22q%22.png';
    const encoded = 'Gr%C3%BC%C3%9Fe%20%E2%80%93%20%E6%97%A5%E6%9C%AC%20%22q%22.png';
    const long = `${'ü'.repeat(120)}.txt`; // 240 bytes of name, 1,440 %-encoded in filename*
    const data = roomy(content);
    const sends: [string, Buffer, string, string, string][] = [
      [name, data, quoted, encoded, 'image/png'],
      [name, data, quoted, encoded, 'image/png'], // the same bytes again (a retry of the same job)
      [name, Buffer.from(content), quoted, encoded, 'image/png'], // no room: copied as before
      [long, roomy(content), long, encodeURIComponent(long), 'text/plain'],
      [long.repeat(2), roomy(content), long.repeat(2), encodeURIComponent(long.repeat(2)), 'text/plain'], // past the room
    ];
    for (const [fileName, bytes] of sends) {
      const r = await client.upsertAsset('a1', 'folder-1', {
        path: `/x/${fileName}`,
        fileName,
        bytes: { data: bytes, sha256: sha(content) },
      });
      expect(r).toMatchObject({ bytes: content.length, sha256: sha(content) });
    }
    expect(server.requests).toHaveLength(sends.length);
    sends.forEach(([, , q, e, mime], i) => {
      const req = server!.requests[i];
      expect(req.url).toBe('/api/apps/demo/assets/a1?parentId=folder-1&duplicate=true');
      const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(req.headers['content-type'] ?? '')![1];
      expect(Number(req.headers['content-length'])).toBe(req.body.length);
      expect(req.body.equals(expectedBody(boundary, q, e, mime, content))).toBe(true);
    });
    expect(data.equals(content)).toBe(true);
  });

  it('leaves bytes of the shared pool around an ordinary buffer untouched', async () => {
    const before = Buffer.from('neighbour-before');
    const content = Buffer.from('tiny');
    const after = Buffer.from('neighbour-after');
    const mp = await openMultipart({ path: '/x/t.txt', fileName: 't.txt', bytes: { data: content, sha256: sha(content) } });
    const boundary = mp.contentType.split('boundary=')[1];
    expect((mp.body as Buffer).equals(expectedBody(boundary, 't.txt', 't.txt', 'text/plain', content))).toBe(true);
    expect(content.toString()).toBe('tiny');
    expect(before.toString()).toBe('neighbour-before');
    expect(after.toString()).toBe('neighbour-after');
  });
});

describe("a small file's memory, given back", () => {
  const upload = (data: Buffer, content: Buffer) =>
    client!.upsertAsset('a1', 'folder-1', { path: '/x/a.png', fileName: 'a.png', bytes: { data, sha256: sha(content) } });

  it('holds the next file read once its upload was taken, and never after an upload that failed', async () => {
    let status = 200;
    server = await startRawServer((_req, res) => json(res, status, status === 200 ? asset : { message: 'boom' }));
    client = new SquidexClient({ url: server.url, app: 'demo', token: 't' });
    const content = Buffer.from('taken\n'.repeat(2000));
    const sent = roomy(content);
    await upload(sent, content);
    giveBack(sent);
    giveBack(sent); // twice: free once, or two files would be read into it
    const next = allocWithEnvelopeRoom(content.length);
    expect(next.buffer).toBe(sent.buffer);
    expect(allocWithEnvelopeRoom(content.length).buffer).not.toBe(sent.buffer);
    // The same memory, sent in a request that ended in an error: the socket may still hold it.
    content.copy(next);
    status = 500;
    await expect(upload(next, content)).rejects.toMatchObject({ status: 500 });
    giveBack(next);
    expect(allocWithEnvelopeRoom(content.length).buffer).not.toBe(next.buffer);
    // What went out was the file, both times.
    for (const req of server.requests) {
      const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(req.headers['content-type'] ?? '')![1];
      expect(req.body.equals(expectedBody(boundary, 'a.png', 'a.png', 'image/png', content))).toBe(true);
    }
  });

  it('leaves memory of another kind to the GC', () => {
    const plain = Buffer.allocUnsafeSlow(4096);
    giveBack(plain);
    expect(allocWithEnvelopeRoom(100).buffer).not.toBe(plain.buffer);
  });
});
