import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Overview } from './overview.js';
import { PAGE } from './page.js';
import { hostAllowed, originAllowed, presentedToken, sessionCookie, tokenValid } from './webauth.js';

/** What the page's buttons do; each returns a line for the page to show. */
export interface WebActions {
  pause(mapping: string | undefined): string;
  resume(mapping: string | undefined): string;
  /** A failed path, a mapping's failed paths, or all of them (both undefined). */
  retry(mapping: string | undefined, path: string | undefined): string;
  confirmDeletes(mapping: string): string;
  keepDeletes(mapping: string): string;
}

export interface WebOptions {
  token: string;
  /** `host:port` values a request may name (see allowedHosts). */
  hosts: ReadonlySet<string>;
  overview(): Overview;
  actions: WebActions;
  logger: Logger;
}

const ACTIONS: Record<string, (a: WebActions, body: Record<string, unknown>) => string> = {
  '/api/pause': (a, b) => a.pause(str(b.mapping)),
  '/api/resume': (a, b) => a.resume(str(b.mapping)),
  '/api/retry': (a, b) => a.retry(str(b.mapping), str(b.path)),
  '/api/deletes/confirm': (a, b) => a.confirmDeletes(need(b.mapping)),
  '/api/deletes/keep': (a, b) => a.keepDeletes(need(b.mapping)),
};

/**
 * The page and its API. Order of checks, each for one attack: Host (DNS
 * rebinding: another name resolving to 127.0.0.1), the token (any local
 * request that is not ours), POST only and Origin for actions (a cross-site
 * form or fetch). No CORS header is ever sent. Returns false for paths it
 * does not serve, so /health and /metrics stay open to scrapers.
 */
export async function handleWeb(req: IncomingMessage, res: ServerResponse, url: URL, o: WebOptions): Promise<boolean> {
  const path = url.pathname;
  const isPage = path === '/' || path === '/status' || path.startsWith('/api/');
  if (!isPage) return false;
  if (!hostAllowed(req, o.hosts)) {
    send(res, 403, 'text/plain; charset=utf-8', 'forbidden: this page answers to 127.0.0.1 and localhost only\n');
    return true;
  }
  const { token, fromQuery } = presentedToken(req, url);
  if (!tokenValid(token, o.token)) {
    send(res, 401, 'text/plain; charset=utf-8', 'a token is needed: run `squidex-sync open` for the address of this page\n');
    return true;
  }
  if (fromQuery) {
    // The token leaves the address bar (and history) at once, into a cookie no script and no other site can read.
    res.setHeader('Set-Cookie', sessionCookie(o.token));
    res.setHeader('Location', path);
    send(res, 303, 'text/plain; charset=utf-8', 'see other\n');
    return true;
  }
  const action = ACTIONS[path];
  if (action) {
    if (req.method !== 'POST') {
      allowOnly(res, 'POST');
      return true;
    }
    // JSON only: a cross-site fetch of that type needs a preflight, which is never answered.
    if (!originAllowed(req) || !(req.headers['content-type'] ?? '').startsWith('application/json')) {
      send(res, 403, 'text/plain; charset=utf-8', 'forbidden: actions are taken from this page only\n');
      return true;
    }
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (e) {
      sendJson(res, 400, { ok: false, message: describeError(e) });
      return true;
    }
    try {
      const message = action(o.actions, body);
      o.logger.info({ action: path, mapping: body.mapping, path: body.path }, 'page: %s', message);
      sendJson(res, 200, { ok: true, message });
    } catch (e) {
      sendJson(res, 400, { ok: false, message: describeError(e) });
    }
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    allowOnly(res, 'GET');
    return true;
  }
  if (path === '/') {
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    res.setHeader('X-Frame-Options', 'DENY');
    send(res, 200, 'text/html; charset=utf-8', PAGE);
  } else if (path === '/api/overview') sendJson(res, 200, o.overview());
  else if (path === '/status')
    return false; // the JSON status, served by http.ts once the token passed
  else send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  return true;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function need(v: unknown): string {
  const s = str(v);
  if (!s) throw new Error('name the mapping');
  return s;
}

function allowOnly(res: ServerResponse, method: string): void {
  res.setHeader('Allow', method);
  send(res, 405, 'text/plain; charset=utf-8', `only ${method}\n`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
  return v as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(body, null, 2)}\n`);
}

export function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
