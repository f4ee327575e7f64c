import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A throwaway HTTP server on 127.0.0.1:0 that records raw requests, for byte-level client tests. */
export interface RawRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type RawHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface RawServer {
  url: string;
  requests: RawRequest[];
  /** Handle headers-only (return true when handled; the body is then not read). */
  early?: (req: IncomingMessage, res: ServerResponse) => boolean;
  close(): Promise<void>;
}

export async function startRawServer(handler: RawHandler, early?: RawServer['early']): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const requests: RawRequest[] = [];
  const state: RawServer = { url: '', requests, early, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    if (state.early?.(req, res)) return;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      void handler(req, res, body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The smallest asset answer the client reads. */
export const asset = (id: string) => ({
  id,
  parentId: 'p',
  fileName: 'x',
  slug: 'x',
  mimeType: 'x',
  fileSize: 1,
  fileVersion: 0,
  version: 0,
  metadata: {},
});

/** A token endpoint + API stub: tokens are "tok-1", "tok-2", … */
export function tokenJson(n: number, expiresIn = 3600): unknown {
  return { access_token: `tok-${n}`, token_type: 'Bearer', expires_in: expiresIn, scope: 'squidex-api' };
}
