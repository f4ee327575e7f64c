import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, liveAssetsByPath, requireBuild, ROOT, waitFor, World } from '../support/world.js';

// No package named squidex-sync is published: a user installs from a clone.
// This does what the README says, `npm pack` and `npm install -g` of the
// tarball, into a temporary global prefix, and runs what that installed.

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
let dir: string;
let bin: string;
let world: World | undefined;

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs,
    killSignal: 'SIGKILL',
  });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/**
 * better-sqlite3 downloads its prebuilt binary from GitHub at install, which
 * this test machine cannot reach (it would compile for minutes instead). The
 * same binary, from this checkout's own install, is handed to its installer
 * as a local prebuild (prebuild-install's documented local-prebuilds option):
 * what a user's machine downloads. Without it the install still works, slowly.
 */
function localPrebuilds(): NodeJS.ProcessEnv {
  const mod = join(ROOT, 'node_modules', 'better-sqlite3');
  if (!existsSync(join(mod, 'build', 'Release', 'better_sqlite3.node'))) return {};
  const { version } = JSON.parse(readFileSync(join(mod, 'package.json'), 'utf8')) as { version: string };
  const out = join(dir, 'prebuilds');
  mkdirSync(out);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  if (run('tar', ['czf', join(out, name), 'build/Release/better_sqlite3.node'], { cwd: mod, timeoutMs: 30_000 }).code !== 0) return {};
  return { npm_config_better_sqlite3_local_prebuilds: out };
}

beforeAll(() => {
  requireBuild();
  dir = mkdtempSync(join(tmpdir(), 'sqsync-pack-'));
  // --ignore-scripts: `npm test` built dist already, and `prepare` (tsc) rewriting dist/ here would
  // race the other test files running it. A user's `npm pack` builds it first; the tarball is the same.
  const pack = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeoutMs: 120_000 });
  expect(pack.code, pack.out).toBe(0);
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  expect(tarball, pack.out).toBe(`${pkg.name}-${pkg.version}.tgz`);
  const prefix = join(dir, 'prefix');
  const env = { ...process.env, ...localPrebuilds() };
  const install = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball!)], {
    env,
    timeoutMs: 420_000,
  });
  expect(install.code, install.out).toBe(0);
  bin = join(prefix, 'bin', 'squidex-sync');
}, 600_000);

afterAll(async () => {
  await world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('installed from `npm pack` with `npm install -g`', () => {
  it('squidex-sync --version and check --help run from the global prefix', () => {
    const version = run(bin, ['--version'], { cwd: dir, timeoutMs: 30_000 });
    expect(version).toEqual({ code: 0, out: `${pkg.version}\n` });
    const help = run(bin, ['check', '--help'], { cwd: dir, timeoutMs: 30_000 });
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain('Usage: squidex-sync check');
  });

  it('the installed daemon syncs and watches: its native modules (SQLite, @parcel/watcher) load', async () => {
    world = await World.create();
    const w = world;
    w.write('before.txt', 'there at start');
    const child = spawn(bin, ['start', '--config', w.configPath], { env: w.env(), cwd: w.dir });
    w.procs.add(child);
    const d = new Daemon(child);
    await d.waitForLog((l) => l.msg === 'squidex-sync is running', 30_000);
    expect(d.lines.some((l) => l.mode === 'events')).toBe(true);
    w.write('after.txt', 'seen by the watcher');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has('Design/Shared/after.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );
    expect(liveAssetsByPath(w.inspect()).has('Design/Shared/before.txt')).toBe(true);
    expect(await d.stop()).toBe(0);
  });
});
