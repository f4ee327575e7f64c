/** Shared helpers for the test-server tests: a started server, a token, raw multipart bodies. */
import { startTestServer, type TestServer, type TestServerOptions } from '../../src/testserver/index.js';

export const ROOT = '00000000-0000-0000-0000-000000000000';

export interface Harness {
  server: TestServer;
  token: string;
  /** `/api/apps/{app}` + path */
  api(path: string, init?: RequestInit): Promise<Response>;
  upload(path: string, parts: Part[], init?: RequestInit & { contentType?: string }): Promise<Response>;
}

export interface Part {
  name?: string;
  filename?: string;
  filenameStar?: string;
  contentType?: string;
  data: string | Buffer;
}

export const BOUNDARY = '----squidexsyncboundary7MA4YWxkTrZu0gW';

export function multipart(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let disposition = `form-data; name="${p.name ?? 'file'}"`;
    if (p.filename !== undefined) disposition += `; filename="${p.filename}"`;
    if (p.filenameStar !== undefined) disposition += `; filename*=UTF-8''${encodeURIComponent(p.filenameStar)}`;
    let head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n`;
    if (p.contentType !== undefined) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export async function getToken(server: Pick<TestServer, 'url' | 'clientId' | 'clientSecret'>): Promise<string> {
  const res = await fetch(`${server.url}/identity-server/connect/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: server.clientId,
      client_secret: server.clientSecret,
      scope: 'squidex-api',
    }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export async function harness(opts: TestServerOptions = {}): Promise<Harness> {
  const server = await startTestServer(opts);
  const token = await getToken(server);
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.url}/api/apps/${server.app}${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
    });
  const upload = (path: string, parts: Part[], init: RequestInit & { contentType?: string } = {}) =>
    api(path, {
      method: 'POST',
      ...init,
      headers: {
        'Content-Type': init.contentType ?? `multipart/form-data; boundary=${BOUNDARY}`,
        ...(init.headers as Record<string, string> | undefined),
      },
      body: multipart(parts),
    });
  return { server, token, api, upload };
}

export const file = (name: string, data: string | Buffer, contentType = 'text/plain'): Part => ({ filename: name, contentType, data });

export function json(body: unknown): RequestInit {
  return { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

export async function body<T = Record<string, any>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
