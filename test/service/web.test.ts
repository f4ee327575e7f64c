import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/service.js';
import { World, type Daemon } from '../support/world.js';

let world: World | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await world?.close();
  world = undefined;
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: fetch() will not let a test set Host, which is the point of one of these tests. */
function call(port: number, path: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { host: `127.0.0.1:${port}`, ...o.headers }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(o.body);
  });
}

async function running(): Promise<{ w: World; port: number; token: string }> {
  const port = await freePort();
  world = await World.create({ extra: { http: { port } } });
  world.write('a.txt', 'hello');
  daemon = world.startDaemon();
  await daemon.waitForLog((l) => l.msg === 'squidex-sync is running');
  const token = readFileSync(join(dirname(world.statePath), 'web-token'), 'utf8').trim();
  return { w: world, port, token };
}

describe('the local page is safe from the websites the user visits', () => {
  it('answers 403 to a Host that is not ours (DNS rebinding), on every route', async () => {
    const { port, token } = await running();
    for (const path of ['/', `/?token=${token}`, '/api/overview', '/status', '/health', '/metrics']) {
      const r = await call(port, path, { headers: { host: `evil.example:${port}`, cookie: `squidex_sync_token=${token}` } });
      expect(r.status, path).toBe(403);
    }
    expect((await call(port, '/health', { headers: { host: `localhost:${port}` } })).status).not.toBe(403);
  });

  it('needs the token for the page, its API and /status, not for /health and /metrics', async () => {
    const { port, token } = await running();
    for (const path of ['/', '/api/overview', '/status']) expect((await call(port, path)).status, path).toBe(401);
    for (const path of ['/', '/api/overview']) {
      expect((await call(port, path, { headers: { cookie: 'squidex_sync_token=wrong-token-of-the-right-length' } })).status, path).toBe(
        401,
      );
    }
    expect([200, 503]).toContain((await call(port, '/health')).status);
    expect((await call(port, '/metrics')).status).toBe(200);
    // The token file is the daemon user's alone.
    expect(statSync(join(dirname(world!.statePath), 'web-token')).mode & 0o777).toBe(0o600);

    // `open`'s address: the token moves into a cookie no script can read, and out of the address bar.
    const first = await call(port, `/?token=${token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const page = await call(port, '/', { headers: { cookie: cookie.split(';')[0] } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>squidex-sync</title>');
    expect(page.body).not.toContain(token);
    const overview = await call(port, '/api/overview', { headers: { authorization: `Bearer ${token}` } });
    expect(overview.status).toBe(200);
    expect(overview.body).not.toContain(world!.server.clientSecret);
    expect(JSON.parse(overview.body).mappings[0].name).toBe('share');
  });

  it('takes actions as POST with our own Origin only, and never sends CORS headers', async () => {
    const { w, port, token } = await running();
    const auth = { cookie: `squidex_sync_token=${token}`, 'content-type': 'application/json' };
    const foreign = await call(port, '/api/pause', { method: 'POST', headers: { ...auth, origin: 'https://evil.example' }, body: '{}' });
    expect(foreign.status).toBe(403);
    const none = await call(port, '/api/pause', { method: 'POST', headers: auth, body: '{}' });
    expect(none.status).toBe(403);
    const form = await call(port, '/api/pause', {
      method: 'POST',
      headers: { ...auth, origin: `http://127.0.0.1:${port}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(form.status).toBe(403);
    const get = await call(port, '/api/pause', { headers: auth });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).mappings[0].paused).toBe(false);

    const ok = await call(port, '/api/pause', {
      method: 'POST',
      headers: { ...auth, origin: `http://127.0.0.1:${port}` },
      body: '{"mapping":"share"}',
    });
    expect(ok.status, ok.body).toBe(200);
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).mappings[0].paused).toBe(true);
    for (const r of [foreign, none, get, ok]) {
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    }
  });

  it('`open` prints the address with the token, and the page is on by default at the documented port', async () => {
    const { w, port, token } = await running();
    const r = await w.run(['open', '--no-browser']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`http://127.0.0.1:${port}/?token=${token}`);
    // Without an http section the page is on, at 7463 (the README's address).
    const { parseConfig } = await import('../../src/config/index.js');
    const text = `squidex: { url: "http://127.0.0.1:1", app: demo, clientId: "demo:sync", clientSecret: x }\nmappings: [{ local: "${w.local}", remote: X }]\n`;
    expect(parseConfig(text, { file: join(w.dir, 'other.yaml') }).http.port).toBe(7463);
    expect(parseConfig(`${text}http: { port: 0 }\n`, { file: join(w.dir, 'other.yaml') }).http.port).toBe(0);
  });
});
