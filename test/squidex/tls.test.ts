import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SquidexClient } from '../../src/squidex/index.js';
import { missing } from '../support/capability.js';

/** A self-signed certificate for 127.0.0.1, made per run (no key material in the repository). */
function makeCert(dir: string): { key: string; cert: string; certPath: string } | null {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=squidex-sync test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  } catch {
    return null;
  }
  return {
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    certPath: join(dir, 'cert.pem'),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'sqx-tls-'));
const tls = makeCert(dir);
let server: Server;
let url: string;

describe.skipIf(missing(!tls, 'openssl, to make a certificate'))('TLS', () => {
  beforeAll(async () => {
    server = createServer({ key: tls!.key, cert: tls!.cert }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items: [] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses an unknown CA, never retried, and points at the ca option', async () => {
    const c = new SquidexClient({ url, app: 'demo', token: 't' });
    try {
      const e = (await c.listFolders().catch((x: unknown) => x)) as { code: string; retry: string; hint: string };
      expect(e).toMatchObject({ code: 'TLS', retry: 'never' });
      expect(e.hint).toContain('`ca`');
    } finally {
      await c.close();
    }
  });

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 does not turn verification off', async () => {
    const before = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    const c = new SquidexClient({ url, app: 'demo', token: 't' });
    try {
      expect(await c.listFolders().catch((x: unknown) => x)).toMatchObject({ code: 'TLS' });
    } finally {
      if (before === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = before;
      await c.close();
    }
  });

  it('trusts a CA added with the ca option', async () => {
    const c = new SquidexClient({ url, app: 'demo', token: 't', ca: tls!.certPath });
    try {
      expect(await c.listFolders()).toEqual([]);
    } finally {
      await c.close();
    }
  });

  it('an unreadable ca file is a CONFIG error', () => {
    expect(() => new SquidexClient({ url, app: 'demo', token: 't', ca: join(dir, 'missing.pem') })).toThrow(/Cannot read the CA file/);
    try {
      new SquidexClient({ url, app: 'demo', token: 't', ca: join(dir, 'missing.pem') });
    } catch (e) {
      expect(e).toMatchObject({ code: 'CONFIG_INVALID', retry: 'never' });
    }
    expect(() => new SquidexClient({ url, app: 'demo', clientId: 'x' })).toThrow(/clientId and clientSecret, or a token/);
  });
});
