import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { IncomingMessage } from 'node:http';

/**
 * The local page's access token. A page on 127.0.0.1 is reachable from every
 * website the user visits (a rebound DNS name, a cross-site form), so every
 * route but /health and /metrics asks for it. It lives beside the state
 * database, readable by the daemon's user only, and `open` hands it over once.
 */
export function tokenFile(stateFile: string): string {
  return join(dirname(stateFile), 'web-token');
}

/** The token, made at the first start and kept after that (a bookmark keeps working). */
export function ensureToken(stateFile: string): string {
  const file = tokenFile(stateFile);
  const existing = readToken(stateFile);
  if (existing) return existing;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // whatever the umask
  return token;
}

export function readToken(stateFile: string): string | undefined {
  try {
    const t = readFileSync(tokenFile(stateFile), 'utf8').trim();
    return /^[A-Za-z0-9_-]{16,}$/.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

export const COOKIE = 'squidex_sync_token';

/** Host names a request may carry: the bound address and the loopback names, each with our port. */
export function allowedHosts(boundHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]', boundHost.includes(':') ? `[${boundHost}]` : boundHost]);
  return new Set([...names].map((n) => `${n}:${port}`.toLowerCase()));
}

/** DNS rebinding: a page of evil.example that resolves to 127.0.0.1 still sends Host: evil.example. */
export function hostAllowed(req: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const host = req.headers.host?.toLowerCase();
  return host !== undefined && allowed.has(host);
}

/** An action must come from our own page: a cross-site form or fetch carries the other site's Origin. */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  return origin !== undefined && host !== undefined && origin.toLowerCase() === `http://${host.toLowerCase()}`;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token from the cookie, a bearer header (scripts) or the one-time `?token=` of `open`. */
export function presentedToken(req: IncomingMessage, url: URL): { token: string | undefined; fromQuery: boolean } {
  const q = url.searchParams.get('token');
  if (q) return { token: q, fromQuery: true };
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { token: auth.slice(7).trim(), fromQuery: false };
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return { token: v.join('='), fromQuery: false };
  }
  return { token: undefined, fromQuery: false };
}

export function tokenValid(presented: string | undefined, token: string): boolean {
  return presented !== undefined && same(presented, token);
}

export function sessionCookie(token: string): string {
  return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
