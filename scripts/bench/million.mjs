// Benchmark 6 (issue 21): a share of a million files. A stat-only rescan
// (`once` over an unchanged tree and a filled database: process start to "in
// sync" exit) over BENCH_MILLION_FILES empty files (default 1,000,000) in
// folders of 100 (10,000 at a million), against `find -printf '%s %T@'` over
// the same tree; and the peak RSS of a first sync (`once` uploading to the
// test server) at each size of BENCH_MILLION_FIRST (default 10000,100000;
// empty to skip), side by side. The tree needs about a million inodes and
// 0.5 GB of folders; it is checked for and removed at the end.
// BENCH_MILLION_FILES=0 runs the first syncs only. BENCH_BASELINE=/path/to/other/dist
// runs each first sync with that build too, over the same tree, the builds
// taking turns at going first.
import { closeSync, mkdirSync, openSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DIST, envInt, fillState, findWalk, mainIf, rmDir, runCli, startServer, workDir, writeConfig } from './lib.mjs';

export async function run() {
  const n = envInt('BENCH_MILLION_FILES', 1_000_000);
  const firsts = (process.env.BENCH_MILLION_FIRST ?? '10000,100000').split(',').filter(Boolean).map(Number);
  const rows = [];
  if (n > 0) rows.push(...(await million(n)));
  const builds = process.env.BENCH_BASELINE ? { this: DIST, baseline: resolve(process.env.BENCH_BASELINE) } : { this: DIST };
  for (const [i, k] of firsts.entries()) rows.push(...(await firstSync(k, builds, i % 2 === 1)));
  return rows;
}

async function million(n) {
  const rows = [];
  const dir = workDir('million');
  try {
    const fs = statfsSync(dir);
    if (fs.ffree < n * 1.1 || fs.bavail * fs.bsize < 2 * 1024 ** 3) {
      throw new Error(
        `not enough room in ${dir} for ${n} files: ${fs.ffree} inodes and ${Math.round((fs.bavail * fs.bsize) / 1024 ** 3)} GB free`,
      );
    }
    const local = join(dir, 'tree');
    let t = performance.now();
    const paths = emptyTree(local, n);
    const made = (performance.now() - t) / 1000;
    t = performance.now();
    await fillState(join(dir, 'state', 'state.db'), local, paths);
    console.error(
      `million: tree of ${n} files in ${made.toFixed(0)} s, database filled in ${((performance.now() - t) / 1000).toFixed(0)} s`,
    );
    paths.length = 0;
    const find = await findWalk(local);
    const server = await startServer();
    try {
      const config = writeConfig(dir, server, local);
      // The first run after the fill finds no clean-close mark and checks the database (PRAGMA
      // quick_check, reading every page); a run after a clean close does not. Both are shown.
      const runs = [];
      for (let i = 0; i < envInt('BENCH_MILLION_RUNS', 3); i++) {
        const r = await runCli(['once', '--config', config]);
        if (r.code !== 0) throw new Error(`once exited ${r.code}: ${r.out.slice(-2000)}`);
        runs.push(r);
      }
      const later = runs.slice(1);
      const best = Math.min(...later.map((r) => r.seconds));
      const peak = Math.max(...later.map((r) => r.peakMB));
      const tag = `6 rescan ${n} unchanged`;
      rows.push(
        { bench: tag, figure: "find -printf '%s %T@' (best of 3)", value: find, unit: 's' },
        {
          bench: tag,
          figure: 'once after an unclean close (quick_check): s, peak RSS',
          value: `${runs[0].seconds.toFixed(2)} s, ${runs[0].peakMB.toFixed(0)}`,
          unit: 'MB',
        },
        {
          bench: tag,
          figure: `once, filled db (best of ${later.length} after a clean close)`,
          value: best,
          unit: 's',
          ratio: `${(best / find).toFixed(1)}× find`,
          target: '≤ 3× find',
          ok: best / find <= 3,
        },
        { bench: tag, figure: `peak RSS (once, worst of ${later.length})`, value: peak, unit: 'MB', target: '≤ 300 MB', ok: peak <= 300 },
      );
    } finally {
      await server.stop();
    }
  } finally {
    rmDir(dir);
  }
  return rows;
}

/** `n` empty files, 100 to a folder, folders two levels deep (100 × 100 at a million). */
export function emptyTree(root, n) {
  const paths = [];
  const fanout = Math.max(1, Math.ceil(Math.sqrt(n / 100)));
  let folder = '';
  for (let i = 0; i < n; i++) {
    const f = Math.floor(i / 100);
    const rel = `d${f % fanout}/e${Math.floor(f / fanout)}/f${i % 100}`;
    const d = dirname(rel);
    if (d !== folder) {
      mkdirSync(join(root, d), { recursive: true });
      folder = d;
    }
    closeSync(openSync(join(root, rel), 'w'));
    paths.push(rel);
  }
  return paths;
}

/** Peak RSS of `once` uploading `n` small files (64 bytes each, unique) to the test server, for each build. */
async function firstSync(n, builds, reverse) {
  const { makeTree } = await import('./lib.mjs');
  const dir = workDir('million-first');
  const rows = [];
  try {
    const local = join(dir, 'tree');
    makeTree(local, { n, minSize: 64, maxSize: 64, levels: 2, fanout: Math.max(1, Math.ceil(Math.sqrt(n / 100))) });
    const order = Object.entries(builds);
    if (reverse) order.reverse();
    for (const [build, dist] of order) {
      // A first sync each: its own server and state.
      const server = await startServer();
      try {
        const own = join(dir, build);
        mkdirSync(own);
        const r = await runCli(['once', '--config', writeConfig(own, server, local)], { cli: join(dist, 'cli', 'main.js') });
        if (r.code !== 0) throw new Error(`${build}: once exited ${r.code}: ${r.out.slice(-2000)}`);
        rows.push({
          bench: `6 first sync ${n} files`,
          figure: `peak RSS (once, ${build})`,
          value: r.peakMB,
          unit: 'MB',
          ratio: `${r.seconds.toFixed(1)} s`,
        });
      } finally {
        await server.stop();
      }
    }
  } finally {
    rmDir(dir);
  }
  return rows;
}

await mainIf(import.meta, run);
