// The daemon's start at N files as a timeline: each log line (level debug) with the
// process's RSS and peak at that moment (read from /proc every 20 ms), and the CPU
// it used up to "running". Linux only. WATCH_HEAP=1 adds the JS heap from inside
// (watch-sample.mjs as a preload); but a worker thread inherits the preload, and
// the watcher's inotify check starts one, so the RSS then includes a second module
// loader for a few hundred ms: read peaks from runs without it.
//   node scripts/bench/watch-timeline.mjs [DIST ...]   (default: this build's dist)
// One start per DIST, alternating, WATCH_RUNS times; the same state throughout, filled
// once, so every start but the very first is a restart after a clean stop.
// WATCH_FILES (100000), WATCH_DIR (the tree, kept between invocations).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DIST, cpuOf, envInt, fillState, makeTree, memOf, sleep, startServer, track, writeConfig } from './lib.mjs';
import { shape } from './restart.mjs';

const n = envInt('WATCH_FILES', 100_000);
const base = process.env.WATCH_DIR ?? join(tmpdir(), `squidex-watch-timeline-${n}`);
const tree = join(base, 'tree');
const list = join(base, 'paths.json');
if (!existsSync(list)) {
  mkdirSync(base, { recursive: true });
  writeFileSync(list, JSON.stringify(makeTree(tree, { n, minSize: 64, maxSize: 64, ...shape(n) })));
}
const dists = process.argv.length > 2 ? process.argv.slice(2) : [DIST];
const server = await startServer();
const sampleOut = join(base, 'samples.jsonl');
const heap = process.env.WATCH_HEAP === '1';
const f = (s) =>
  `${s.rss === undefined ? '' : `RSS ${s.rss.toFixed(0)} (peak ${s.hwm.toFixed(0)}) MB`}${
    s.heapUsed === undefined ? '' : `, heap ${s.heapUsed.toFixed(0)}/${s.heapTotal.toFixed(0)} MB, young ${s.young} old ${s.old}`
  }`;
try {
  const config = writeConfig(base, server, tree, { watch: 'events', logLevel: process.env.WATCH_LEVEL ?? 'debug' });
  rmSync(join(base, 'state'), { recursive: true, force: true });
  await fillState(join(base, 'state', 'state.db'), tree, JSON.parse(readFileSync(list, 'utf8')));
  for (let run = 0; run < envInt('WATCH_RUNS', 1); run++) {
    for (const dist of dists) {
      rmSync(sampleOut, { force: true });
      const t0 = Date.now();
      const child = track(
        spawn(
          process.execPath,
          [
            ...(heap ? ['--import', join(import.meta.dirname, 'watch-sample.mjs')] : []),
            join(dist, 'cli', 'main.js'),
            'start',
            '--config',
            config,
          ],
          {
            env: { ...process.env, WATCH_SAMPLE_OUT: sampleOut },
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        ),
      );
      const lines = [];
      const outside = [];
      const poll = setInterval(() => outside.push({ t: Date.now() - t0, ...memOf(child.pid) }), 20);
      const ready = await new Promise((res, rej) => {
        createInterface({ input: child.stdout }).on('line', (l) => {
          let m;
          try {
            m = JSON.parse(l);
          } catch {
            m = { msg: l };
          }
          lines.push({ t: (m.time ?? Date.now()) - t0, msg: String(m.msg).slice(0, 70) });
          if (m.msg === 'squidex-sync is running') res({ s: (Date.now() - t0) / 1000, cpu: cpuOf(child.pid) });
        });
        child.once('exit', (c) => rej(new Error(`the daemon exited with ${c}`)));
      });
      await sleep(2000);
      const end = memOf(child.pid);
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
      clearInterval(poll);
      const samples = heap
        ? readFileSync(sampleOut, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l))
        : [];
      const at = (t) => ({ ...samples.filter((s) => s.t - t0 <= t).at(-1), ...outside.filter((s) => s.t <= t).at(-1) });
      console.log(
        `\n${dist}: running at ${ready.s.toFixed(2)} s (CPU ${ready.cpu.toFixed(2)} s), 2 s later RSS ${end.rss.toFixed(0)}, peak ${end.hwm.toFixed(0)} MB`,
      );
      const marks = samples.filter((s) => s.tag).map((s) => ({ t: s.t - t0, msg: `# ${s.tag}`, s }));
      for (const e of [...lines, ...marks].sort((a, b) => a.t - b.t))
        console.log(`${String(e.t).padStart(6)} ms  ${e.msg.padEnd(70)} ${f(at(e.t))}`);
    }
  }
} finally {
  await server.stop();
}
