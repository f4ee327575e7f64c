// Benchmark 4: watching. Two parts over the same tree of N files:
//  a) three watchers side by side, each alone in a process (watch-probe.mjs):
//     @parcel/watcher (what the daemon uses), one fs.watch per folder (the
//     daemon's former hand-written watcher) and chokidar 5 (installed on
//     demand into BENCH_CHOKIDAR_DIR, it is no dependency). Time from spawn to
//     ready, resident memory, idle CPU, and whether a new file, an append, a
//     new folder and a file inside it are all reported.
//  b) the whole daemon: `start` with a filled database, seconds to "running"
//     (watchers ready and the start rescan done), RSS and idle CPU, per mode,
//     for the first start after the fill and for a restart after a clean stop;
//     BENCH_WATCH_BASELINE=/path/to/other/dist adds the same rows for another
//     build (before/after in one run).
// CPU is utime+stime over BENCH_IDLE_S seconds.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CLI,
  cpuOf,
  envInt,
  fillState,
  mainIf,
  makeTree,
  memOf,
  rmDir,
  sleep,
  startDaemon,
  startServer,
  track,
  workDir,
  writeConfig,
} from './lib.mjs';
import { shape } from './restart.mjs';

const PROBE = join(import.meta.dirname, 'watch-probe.mjs');
const WATCHERS = [
  { kind: 'parcel', name: '@parcel/watcher 2' },
  { kind: 'perfolder', name: 'fs.watch per folder (former)' },
  { kind: 'chokidar', name: 'chokidar 5' },
];

/** chokidar 5 in a folder of its own, with npm; null (and why) when it cannot be had. */
function chokidarDir() {
  const dir = process.env.BENCH_CHOKIDAR_DIR ?? join(tmpdir(), 'squidex-bench-chokidar');
  if (existsSync(join(dir, 'node_modules', 'chokidar', 'package.json'))) return { dir };
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', 'chokidar@5'], { encoding: 'utf8', timeout: 300_000 });
  return r.status === 0 ? { dir } : { dir: null, why: `npm install chokidar@5 failed: ${(r.stderr ?? String(r.error)).slice(-200)}` };
}

/** One watcher alone in a process: time to ready, memory, idle CPU, then four changes it must report. */
async function probe(kind, root, sample, idleS, extra) {
  const started = performance.now();
  const child = track(spawn(process.execPath, [PROBE, kind, root, extra ?? ''], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const seen = [];
  let readyAt = 0;
  const rl = createInterface({ input: child.stdout });
  const ready = new Promise((res, rej) => {
    rl.on('line', (l) => {
      const m = JSON.parse(l);
      if (m.ready) {
        readyAt = performance.now();
        res();
      } else seen.push(m);
    });
    child.once('exit', (c) => rej(new Error(`${kind} probe exited with ${c}`)));
  });
  try {
    await ready;
    const after = memOf(child.pid);
    const cpu0 = cpuOf(child.pid);
    await sleep(idleS * 1000);
    const idle = (100 * (cpuOf(child.pid) - cpu0)) / idleS;
    const end = memOf(child.pid);
    // Each change waited for (up to 5 s) before the next: the file in the new folder needs the folder watched.
    const saw = (p) => seen.some((e) => e.path === p);
    const until = async (p) => {
      for (let i = 0; i < 100 && !saw(p); i++) await sleep(50);
      return saw(p);
    };
    const checks = [];
    writeFileSync(join(root, 'bench-new.txt'), 'new');
    checks.push(await until('bench-new.txt'));
    appendFileSync(join(root, sample), 'more');
    checks.push(await until(sample));
    mkdirSync(join(root, 'bench-dir'));
    checks.push(await until('bench-dir'));
    writeFileSync(join(root, 'bench-dir', 'inside.txt'), 'in');
    checks.push(await until('bench-dir/inside.txt'));
    return { readyS: (readyAt - started) / 1000, rss: after.rss, hwm: end.hwm, idle, events: checks.filter(Boolean).length };
  } finally {
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await done;
    rmDir(join(root, 'bench-dir'));
    rmDir(join(root, 'bench-new.txt'));
  }
}

export async function run() {
  const sizes = (process.env.BENCH_WATCH_FILES ?? '10000,100000').split(',').map(Number);
  const idleS = envInt('BENCH_IDLE_S', 60);
  const modes = (process.env.BENCH_WATCH_MODES ?? 'events').split(',');
  const baseline = process.env.BENCH_WATCH_BASELINE;
  const builds = [{ tag: '', cli: CLI }, ...(baseline ? [{ tag: ' [baseline]', cli: join(baseline, 'cli', 'main.js') }] : [])];
  const only = (process.env.BENCH_WATCHERS ?? WATCHERS.map((w) => w.kind).join(',')).split(',');
  const chok = only.includes('chokidar') ? chokidarDir() : { dir: null, why: 'not asked for' };
  const rows = [];
  const server = await startServer();
  try {
    for (const n of sizes) {
      const dir = workDir('watch');
      const big = n >= 100_000;
      try {
        const local = join(dir, 'tree');
        const paths = makeTree(local, { n, minSize: 64, maxSize: 64, ...shape(n) });
        for (const w of WATCHERS.filter((x) => only.includes(x.kind))) {
          const tag = `4a ${w.name}, ${n} files`;
          if (w.kind === 'chokidar' && !chok.dir) {
            rows.push({ bench: tag, figure: 'skipped', value: chok.why });
            continue;
          }
          const r = await probe(w.kind, local, paths[0], idleS, chok.dir);
          rows.push(
            { bench: tag, figure: 'spawn → ready', value: r.readyS, unit: 's' },
            { bench: tag, figure: 'RSS after ready / peak', value: `${r.rss.toFixed(0)} / ${r.hwm.toFixed(0)}`, unit: 'MB' },
            { bench: tag, figure: `idle CPU over ${idleS} s`, value: r.idle, unit: '% of a core' },
            {
              bench: tag,
              figure: 'new file, append, new folder, file in it',
              value: `${r.events} / 4`,
              unit: 'reported',
              ok: r.events === 4,
            },
          );
        }
        for (const build of builds) {
          for (const mode of modes) {
            rmDir(join(dir, 'state'));
            const config = writeConfig(dir, server, local, { watch: mode, logLevel: 'info' });
            await fillState(join(dir, 'state', 'state.db'), local, paths);
            await server.resetCounters();
            // The first start after the fill runs quick_check and records the tag settings (a read of every
            // row); the restart after its clean stop is what a daemon restarted on a synced share does.
            for (const run of ['first start', 'restart']) {
              const d = await startDaemon(config, { cli: build.cli });
              try {
                const after = memOf(d.pid);
                const cpu0 = cpuOf(d.pid);
                await sleep(idleS * 1000);
                const idle = (100 * (cpuOf(d.pid) - cpu0)) / idleS;
                const end = memOf(d.pid);
                const tag = `4b daemon${build.tag}, ${n} files (${mode}), ${run}`;
                const targets = big && mode === 'events' && !build.tag;
                rows.push(
                  {
                    bench: tag,
                    figure: 'start → running',
                    value: d.readySeconds,
                    unit: 's',
                    target: targets ? '≤ 1.0' : '',
                    ok: targets ? d.readySeconds <= 1.0 : undefined,
                  },
                  {
                    bench: tag,
                    figure: 'RSS after ready / peak',
                    value: `${after.rss.toFixed(0)} / ${end.hwm.toFixed(0)}`,
                    unit: 'MB',
                    target: targets ? '≤ 120' : '',
                    ok: targets ? end.hwm <= 120 : undefined,
                  },
                  {
                    bench: tag,
                    figure: `idle CPU over ${idleS} s`,
                    value: idle,
                    unit: '% of a core',
                    target: mode === 'events' ? '≈ 0' : 'bounded',
                    ok: mode === 'events' ? idle < 1 : idle < 15,
                  },
                );
              } finally {
                await d.stop();
              }
            }
          }
        }
      } finally {
        rmDir(dir);
      }
    }
  } finally {
    await server.stop();
  }
  return rows;
}

await mainIf(import.meta, run);
