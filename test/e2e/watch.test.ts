import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Daemon, liveAssetsByPath, waitFor, World } from '../support/world.js';
import { missing } from '../support/capability.js';

// What the daemon promises about watching, on the real native watcher: a folder
// moved in is watched down to its last subfolder, and a watch limit falls back
// to rescans on the timer, said once.

let world: World | undefined;
const outside: string[] = [];
afterEach(async () => {
  await world?.close();
  world = undefined;
  for (const d of outside.splice(0)) rmSync(d, { recursive: true, force: true });
});

const P = 'Design/Shared';

describe('watching with the daemon', () => {
  it('under NODE_OPTIONS=--input-type=module, the inotify check still runs: no false WATCH_LIMIT, events are watched', async () => {
    // The flag is allowed only for code that is not a file, so the daemon is started the way a
    // wrapper would do it: imported from an --eval script (argv[1] stands in for the script's path).
    world = await World.create({ mapping: { watch: 'events' } });
    const w = world;
    const boot = `process.argv.splice(1, 0, 'squidex-sync'); await import(${JSON.stringify(pathToFileURL(CLI).href)});`;
    const child = spawn(process.execPath, ['-e', boot, 'start', '--config', w.configPath], {
      env: { ...w.env(), NODE_OPTIONS: '--input-type=module' },
      cwd: w.dir,
    });
    w.procs.add(child);
    const d = new Daemon(child);
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    // The timer rescan is an hour away: only watcher events bring the late file in.
    w.write('late.txt', 'seen by the watcher');
    const watchProblem = (l: Record<string, unknown>): boolean => l.code === 'WATCH_LIMIT' || l.code === 'WATCH_FAILED';
    await waitFor(
      () => d.lines.some(watchProblem) || liveAssetsByPath(w.inspect()).has(`${P}/late.txt`),
      20_000,
      () => d.stdout.slice(-3000),
    );
    expect(d.lines.filter(watchProblem).map((l) => l.msg)).toEqual([]);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/late.txt`)).toBe(true);
    expect(await d.stop()).toBe(0);
  });

  it('a folder tree moved in is synced, and a file added deep inside it later is seen by the watcher', async () => {
    // The timer rescan is an hour away: only watcher events can bring the late file in.
    world = await World.create({ mapping: { watch: 'events' } });
    const w = world;
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const src = mkdtempSync(join(tmpdir(), 'sqsync-outside-'));
    outside.push(src);
    mkdirSync(join(src, 'job/layouts/final'), { recursive: true });
    writeFileSync(join(src, 'job/brief.txt'), 'brief');
    writeFileSync(join(src, 'job/layouts/final/cover.txt'), 'cover');
    renameSync(join(src, 'job'), join(w.local, 'job'));
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has(`${P}/job/layouts/final/cover.txt`),
      20_000,
      () => d.stdout.slice(-3000),
    );
    expect(liveAssetsByPath(w.inspect()).has(`${P}/job/brief.txt`)).toBe(true);

    await new Promise((r) => setTimeout(r, 1500)); // past the folder's own rescan
    w.write('job/layouts/final/back.txt', 'back');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has(`${P}/job/layouts/final/back.txt`),
      20_000,
      () => d.stdout.slice(-3000),
    );
    expect(await d.stop()).toBe(0);
  });

  const canLowerInotifyLimits = (() => {
    try {
      return (
        process.platform === 'linux' &&
        execFileSync('unshare', ['-Ur', 'sh', '-c', 'echo 4 > /proc/sys/user/max_inotify_watches && echo ok']).toString().trim() === 'ok'
      );
    } catch {
      return false;
    }
  })();

  // The limit is lowered in a user namespace of the test's own (Linux keeps inotify limits per user
  // namespace): the kernel really refuses, and nothing outside the test is touched.
  it.skipIf(missing(!canLowerInotifyLimits, 'unshare -Ur (util-linux, user namespaces), to lower the inotify limits'))(
    'past the inotify watch limit, the hint is logged once and the timer rescans sync new files',
    async () => {
      world = await World.create({ mapping: { watch: 'events', rescanInterval: '1s' } });
      const w = world;
      for (let i = 0; i < 8; i++) w.write(`d${i}/a.txt`, `a${i}`);
      const script = 'echo 4 > /proc/sys/user/max_inotify_watches && exec "$0" "$1" start --config "$2"';
      const child = spawn('unshare', ['-Ur', 'sh', '-c', script, process.execPath, CLI, w.configPath], { env: w.env(), cwd: w.dir });
      w.procs.add(child);
      const d = new Daemon(child);
      await d.waitForLog((l) => l.msg === 'squidex-sync is running');
      await waitFor(
        () => liveAssetsByPath(w.inspect()).size === 8,
        20_000,
        () => d.stdout.slice(-3000),
      );
      w.write('late.txt', 'found by a rescan');
      await waitFor(
        () => liveAssetsByPath(w.inspect()).has(`${P}/late.txt`),
        20_000,
        () => d.stdout.slice(-3000),
      );

      const limits = d.lines.filter((l) => l.code === 'WATCH_LIMIT');
      expect(limits).toHaveLength(1);
      expect(String(limits[0].msg)).toContain('fs.inotify.max_user_watches=524288');
      const status = JSON.parse((await w.run(['status', '--json'])).stdout);
      expect(status.mappings[0].watcher).toBe('rescan');
      expect(await d.stop()).toBe(0);
    },
  );
});
