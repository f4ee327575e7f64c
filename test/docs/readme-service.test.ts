import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { makeFakeSystem, underRoot, type FakeSystem } from '../support/fakesystem.js';
import { freePort } from '../support/service.js';
import { liveAssetsByPath, requireBuild, ROOT, waitFor } from '../support/world.js';

/**
 * The README's "Running as a service → systemd" walk-through, line by line as
 * written, against the test server. sudo is the test's own user (and, like
 * sudo, clears the environment); systemd, useradd and the npm registry are
 * stand-ins (support/fakesystem.ts); /etc, /var and /usr live under a temp root.
 */
let dir: string;
let sys: FakeSystem;
let server: TestServer;
const ran: string[] = [];

/** The lines of the first ```sh block after `heading`, comments dropped. */
function shBlock(readme: string, heading: string, after = ''): string[] {
  const from = readme.indexOf(heading);
  const start = readme.indexOf('```sh\n', after ? readme.indexOf(after, from) : from);
  const end = readme.indexOf('\n```', start + 6);
  expect(from >= 0 && start >= 0 && end > start, `README: no sh block under "${heading}"`).toBe(true);
  return readme
    .slice(start + 6, end)
    .split('\n')
    .map((l) => l.replace(/\s+#\s.*$/, '').trim())
    .filter(Boolean);
}

/**
 * Runs one README line in bash, as the test's user, with the README's paths under the fake root.
 * Asynchronously: the test server answers from this process.
 */
async function step(line: string, secret: string): Promise<{ code: number | null; out: string }> {
  const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
  const cmd = underRoot(line, sys.root)
    .replace(/-g squidex-sync(?= \/)/g, `-g ${group}`)
    .replace('SQUIDEX_CLIENT_SECRET=…', `SQUIDEX_CLIENT_SECRET=${secret}`);
  const child = spawn('bash', ['-o', 'pipefail', '-c', cmd], { cwd: dir, env: sys.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  ran.push(`$ ${line}\n${out}`);
  return { code, out };
}

beforeAll(async () => {
  requireBuild();
  dir = mkdtempSync(join(tmpdir(), 'readme-service-'));
  sys = makeFakeSystem(dir, ROOT);
  server = await startTestServer();
});

afterAll(async () => {
  // Whatever happened, the daemon the fake systemd started is stopped.
  const pidFile = join(sys.root, 'run', 'squidex-sync.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('README: running as a systemd service', () => {
  it('runs as written, step by step, and the service syncs the share', async (ctx) => {
    ctx.onTestFailed(() => {
      const journal = join(sys.root, 'var/log/journal/squidex-sync.log');
      console.log(`${ran.join('\n')}\n--- journal\n${existsSync(journal) ? readFileSync(journal, 'utf8').slice(-4000) : '(none)'}`);
    });
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const install = shBlock(readme, '### systemd');
    const daily = shBlock(readme, '### systemd', 'Day-to-day commands:');
    expect(install[0]).toMatch(/^sudo npm install -g (--prefix \/usr\/local )?(squidex-sync|\.\/squidex-sync-\*\.tgz)\b/);

    const share = join(dir, 'srv', 'Marketing');
    mkdirSync(share, { recursive: true });
    writeFileSync(join(share, 'poster.txt'), 'the poster');
    for (const line of install) {
      const r = await step(line, server.clientSecret);
      expect(r.code, `${line}\n${r.out}`).toBe(0);
      if (line.includes('squidex-sync check')) expect(r.out).toContain('token: granted');
      if (!line.includes('sync.example.yaml')) continue;
      // "then edit it, see below": what the README lists, plus the server and the share.
      const file = join(sys.root, 'etc/squidex-sync/sync.yaml');
      const doc = parseDocument(readFileSync(file, 'utf8'));
      expect(readme).toContain('- `state: /var/lib/squidex-sync/state.db`.');
      expect(readme).toContain('- `clientSecret: ${SQUIDEX_CLIENT_SECRET}`.');
      doc.setIn(['state'], underRoot('/var/lib/squidex-sync/state.db', sys.root));
      doc.setIn(['squidex', 'clientSecret'], '${SQUIDEX_CLIENT_SECRET}');
      doc.setIn(['squidex', 'url'], server.url);
      doc.setIn(['squidex', 'app'], server.app);
      doc.setIn(['squidex', 'clientId'], server.clientId);
      doc.setIn(['mappings', 0, 'local'], share);
      // Not the page's default port: other tests' daemons run on this machine too.
      doc.setIn(['http', 'port'], await freePort());
      writeFileSync(file, doc.toString());
    }
    await waitFor(
      () => liveAssetsByPath(server.inspect()).has('Marketing/Shared/poster.txt'),
      30_000,
      () => ran.at(-1) ?? '',
    );

    for (const line of daily) {
      const r = await step(line, server.clientSecret);
      expect(r.code, `${line}\n${r.out}`).toBe(0);
      if (line.startsWith('systemctl status')) expect(r.out).toContain('active (running)');
      if (line.includes('pino-pretty')) expect(r.out).toContain('squidex-sync is running');
      if (line.includes('squidex-sync status')) expect(r.out).toMatch(/^marketing\s+1\s+0\s+0\s+0\s+0\s+0/m);
    }
    // After the restart the service still works: a new file arrives.
    writeFileSync(join(share, 'flyer.txt'), 'the flyer');
    await waitFor(
      () => liveAssetsByPath(server.inspect()).has('Marketing/Shared/flyer.txt'),
      30_000,
      () => ran.at(-1) ?? '',
    );
    expect((await step('sudo systemctl stop squidex-sync', '')).code).toBe(0);
    expect(userInfo().username).not.toBe('squidex-sync');
  });
});
