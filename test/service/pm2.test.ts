import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * pm2 smoke test: start config/ecosystem.config.cjs, see the app online, stop it
 * cleanly. PM2_HOME is a temp dir, never the user's ~/.pm2, and the pm2 daemon
 * is killed in afterAll whatever happened.
 *
 * The daemon (`dist/cli/main.js start`) is being written alongside this; until
 * it is built, a clearly labelled stand-in takes its place: it stays alive and
 * exits 0 on SIGINT/SIGTERM, which is the contract pm2 needs from the daemon.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const PM2 = join(ROOT, 'node_modules', '.bin', 'pm2');
const ECOSYSTEM = join(ROOT, 'config', 'ecosystem.config.cjs');
const REAL_MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const TESTSERVER = join(ROOT, 'dist', 'testserver', 'index.js');

const STAND_IN = `// STAND-IN for dist/cli/main.js, used by test/service-pm2.test.ts until the daemon is built.
import { writeFileSync } from 'node:fs';
writeFileSync('stand-in.argv', JSON.stringify(process.argv.slice(2)));
const keepAlive = setInterval(() => {}, 60_000);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    clearInterval(keepAlive);
    writeFileSync('stand-in.stopped', sig);
    process.exit(0);
  });
}
`;

function hasStartCommand(): boolean {
  if (!existsSync(REAL_MAIN) || !existsSync(TESTSERVER)) return false;
  const r = spawnSync(process.execPath, [REAL_MAIN, '--help'], { encoding: 'utf8', timeout: 10_000 });
  return /\bstart\b/.test(`${r.stdout}${r.stderr}`);
}

interface Pm2Proc {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number; exit_code?: number; NODE_ENV?: string };
}

describe('pm2 ecosystem', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let server: { inspect(): { assets: { fileName: string; deleted: boolean }[] }; close(): Promise<void> } | undefined;
  let useReal = false;

  const pm2 = (...args: string[]) => {
    const r = spawnSync(PM2, args, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${r.status}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const list = (): Pm2Proc[] => JSON.parse(pm2('jlist')) as Pm2Proc[];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const until = async (what: string, ok: () => boolean) => {
    for (let i = 0; i < 300; i++) {
      if (ok()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`gave up waiting: ${what}`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pm2-smoke-'));
    mkdirSync(join(dir, 'pm2'));
    env = { ...process.env, PM2_HOME: join(dir, 'pm2') };
    delete env.NOTIFY_SOCKET;
    useReal = hasStartCommand();
    // npm test builds dist first: the smoke test must run the real daemon, never pass on a stand-in.
    if (!useReal) throw new Error('dist/cli/main.js with a start command is missing: run `npm test` (it builds first) or `npm run build`.');
    let script: string;
    if (useReal) {
      const { startTestServer } = (await import(TESTSERVER)) as {
        startTestServer: () => Promise<{ url: string; app: string; clientId: string; clientSecret: string } & NonNullable<typeof server>>;
      };
      const s = await startTestServer();
      server = s;
      mkdirSync(join(dir, 'files'));
      writeFileSync(join(dir, 'files', 'hello.txt'), 'hello');
      writeFileSync(
        join(dir, 'sync.yaml'),
        [
          'squidex:',
          `  url: ${s.url}`,
          `  app: ${s.app}`,
          `  clientId: ${s.clientId}`,
          `  clientSecret: ${s.clientSecret}`,
          'state: ./state.db',
          'mappings:',
          `  - local: ${join(dir, 'files')}`,
          '    remote: Smoke',
          // The local page's fixed default port may be in use by another test's daemon.
          'http:',
          '  port: 0',
          '',
        ].join('\n'),
      );
      script = REAL_MAIN;
    } else {
      script = join(dir, 'stand-in.mjs');
      writeFileSync(script, STAND_IN);
      console.log('pm2 smoke test: dist/cli/main.js with a start command is not built yet; using a stand-in script');
    }
    // The real ecosystem file with only the script (and cwd) swapped: every pm2 setting under test is the shipped one.
    writeFileSync(
      join(dir, 'ecosystem.config.cjs'),
      `const real = require(${JSON.stringify(ECOSYSTEM)});\n` +
        `module.exports = { apps: real.apps.map((a) => ({ ...a, script: ${JSON.stringify(script)}, cwd: ${JSON.stringify(dir)} })) };\n`,
    );
  });

  afterAll(async () => {
    if (dir && existsSync(join(dir, 'pm2'))) spawnSync(PM2, ['kill'], { cwd: dir, env, timeout: 60_000 });
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts the daemon online and stops it cleanly', async (ctx) => {
    ctx.onTestFailed(() => {
      for (const f of ['pm2.log', 'logs/squidex-sync-out.log', 'logs/squidex-sync-error.log']) {
        const file = join(dir, 'pm2', f);
        if (existsSync(file)) console.log(`--- ${f}\n${readFileSync(file, 'utf8').slice(-4000)}`);
      }
    });
    pm2('start', join(dir, 'ecosystem.config.cjs'));
    await until('squidex-sync online', () => list().some((p) => p.name === 'squidex-sync' && p.pm2_env.status === 'online'));
    // Online right after spawn says little; still online without a restart a moment later says it stays up.
    await new Promise((r) => setTimeout(r, 2_000));
    const [proc] = list();
    expect(proc.pm2_env).toMatchObject({ status: 'online', restart_time: 0, NODE_ENV: 'production' });
    expect(alive(proc.pid)).toBe(true);
    if (useReal) {
      // The real daemon, started by pm2 from the ecosystem's cwd and args, does its job.
      await until('hello.txt uploaded', () => server!.inspect().assets.some((a) => a.fileName === 'hello.txt' && !a.deleted));
    } else {
      expect(JSON.parse(readFileSync(join(dir, 'stand-in.argv'), 'utf8'))).toEqual(['start', '--config', './sync.yaml']);
    }

    // Every line carries the ecosystem's log_date_format stamp (pm2's `time: true` would replace it).
    const out = readFileSync(join(dir, 'pm2', 'logs', 'squidex-sync-out.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(out.length).toBeGreaterThan(0);
    for (const line of out) expect(line).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d\d:\d\d: \{/);

    pm2('delete', 'squidex-sync');
    await until('daemon process gone', () => !alive(proc.pid));
    expect(list()).toEqual([]);
    if (!useReal) expect(readFileSync(join(dir, 'stand-in.stopped'), 'utf8')).toBe('SIGINT');
    // pm2 stops with SIGINT; a clean drain exits 0 well before kill_timeout's SIGKILL.
    expect(readFileSync(join(dir, 'pm2', 'pm2.log'), 'utf8')).toMatch(
      /App \[squidex-sync:0\] exited with code \[0\] via signal \[SIGINT\]/,
    );

    const daemonPid = Number(readFileSync(join(dir, 'pm2', 'pm2.pid'), 'utf8'));
    pm2('kill');
    await until('pm2 daemon gone', () => !alive(daemonPid));
  });

  it('shows a daemon stopped by a bad config (exit 2) as stopped, and does not restart it', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(join(bad, 'files'), { recursive: true });
    writeFileSync(
      join(bad, 'sync.yaml'),
      readFileSync(join(dir, 'sync.yaml'), 'utf8').replace('remote: Smoke', 'remote: Smoke\n    deletes: remove'),
    );
    writeFileSync(
      join(bad, 'ecosystem.config.cjs'),
      `const real = require(${JSON.stringify(ECOSYSTEM)});\n` +
        `module.exports = { apps: real.apps.map((a) => ({ ...a, script: ${JSON.stringify(REAL_MAIN)}, cwd: ${JSON.stringify(bad)} })) };\n`,
    );
    pm2('start', join(bad, 'ecosystem.config.cjs'));
    await until('squidex-sync exited', () => list().some((p) => p.pm2_env.status !== 'online' && p.pm2_env.status !== 'launching'));
    // Given time to restart, it does not, and says why it stopped.
    await new Promise((r) => setTimeout(r, 3_000));
    const [proc] = list();
    expect(proc.pm2_env).toMatchObject({ status: 'stopped', restart_time: 0, exit_code: 2 });
    expect(readFileSync(join(dir, 'pm2', 'logs', 'squidex-sync-error.log'), 'utf8')).toContain(
      'mappings[0].deletes: expected one of keep | delete, got "remove"',
    );
    pm2('delete', 'squidex-sync');
  });
});
