// Issue 21, "less CPU per file on loopback": `once` of this build and of another
// (BENCH_BASELINE=/path/to/other/dist), alternating which goes first, over the same
// tree of small files against one test-server process, each run from a fresh state
// into a folder of its own. Prints, per build, the median CPU of the `once` process
// (all its threads, from process.cpuUsage() at its exit) per file, its wall time,
// and the test server's CPU per request during the runs. BENCH_FILES (3,000),
// BENCH_ROUNDS (5), BENCH_CONCURRENCY (the build's default).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpuOf, DIST, envInt, mainIf, makeTree, rmDir, startServer, track, workDir, writeConfig } from './lib.mjs';

export async function run() {
  const baseline = process.env.BENCH_BASELINE;
  if (!baseline) throw new Error('BENCH_BASELINE=/path/to/other/dist is required: this benchmark compares two builds.');
  const n = envInt('BENCH_FILES', 3000);
  const rounds = envInt('BENCH_ROUNDS', 5);
  const concurrency = process.env.BENCH_CONCURRENCY;
  const builds = { baseline: resolve(baseline), this: DIST };
  const dir = workDir('cpufile');
  const local = join(dir, 'tree');
  makeTree(local, { n, minSize: 8 * 1024, maxSize: 64 * 1024, levels: 3, fanout: 5 });
  const probe = join(dir, 'cpu-probe.mjs');
  writeFileSync(
    probe,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.cpuUsage(); writeFileSync(process.env.BENCH_CPU_OUT, String((u.user + u.system) / 1e6)); });\n`,
  );
  const server = await startServer();
  const stats = { baseline: { cpu: [], wall: [], server: [] }, this: { cpu: [], wall: [], server: [] } };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const build of round % 2 === 0 ? ['baseline', 'this'] : ['this', 'baseline']) {
        const runDir = join(dir, `${build}-${round}`);
        mkdirSync(runDir, { recursive: true });
        const config = writeConfig(runDir, server, local, { remote: `Bench-${build}-${round}`, sync: concurrency ? { concurrency } : {} });
        const cpuOut = join(runDir, 'cpu');
        await server.resetCounters();
        const serverBefore = cpuOf(server.pid);
        const started = performance.now();
        const code = await once(join(builds[build], 'cli', 'main.js'), config, {
          NODE_OPTIONS: `--import ${probe}`,
          BENCH_CPU_OUT: cpuOut,
        });
        const wall = (performance.now() - started) / 1000;
        if (code !== 0) throw new Error(`once (${build}) exited ${code}`);
        const requests = (await server.counters()).requests;
        stats[build].cpu.push(Number(readFileSync(cpuOut, 'utf8')));
        stats[build].wall.push(wall);
        stats[build].server.push((cpuOf(server.pid) - serverBefore) / requests);
      }
    }
  } finally {
    await server.stop();
    rmDir(dir);
  }
  const tag = `21 loopback CPU per file, ${n} files 8–64 KB, ${rounds} rounds alternating`;
  const rows = [];
  for (const build of ['baseline', 'this']) {
    const s = stats[build];
    rows.push({
      bench: tag,
      figure: `once CPU per file (${build === 'this' ? 'this build' : baseline})`,
      value: (median(s.cpu) / n) * 1000,
      unit: 'ms',
      ratio: `CPU ${s.cpu.map((x) => x.toFixed(2)).join(', ')} s; wall ${s.wall.map((x) => x.toFixed(2)).join(', ')} s; server ${(median(s.server) * 1000).toFixed(2)} ms/request`,
    });
  }
  rows.push({
    bench: tag,
    figure: 'once CPU this ÷ baseline (medians)',
    value: median(stats.this.cpu) / median(stats.baseline.cpu),
    unit: '×',
  });
  rows.push({
    bench: tag,
    figure: 'wall this ÷ baseline (medians)',
    value: median(stats.this.wall) / median(stats.baseline.wall),
    unit: '×',
  });
  return rows;
}

function once(cli, config, env) {
  const child = track(
    spawn(process.execPath, [cli, 'once', '--config', config], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  return new Promise((r) => child.once('exit', (c) => r(c)));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

await mainIf(import.meta, run);
