// Issue 21: SQLite statements per file of a first sync. `once` over a fresh tree
// of small files, with a preload that counts every statement better-sqlite3 runs
// (prepared statements, `exec`, `pragma` and the BEGIN/COMMIT/SAVEPOINT of its
// transaction wrapper all go through Statement.prototype), keyed by SQL text.
// Prints the total per file and the statements, most frequent first.
// BENCH_FILES (2,000), BENCH_BASELINE=/path/to/other/dist counts that build too,
// BENCH_STMT_TOP (25) rows per build.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DIST, envInt, mainIf, makeTree, rmDir, startServer, track, workDir, writeConfig } from './lib.mjs';

const PRELOAD = `
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(process.env.BENCH_STMT_FROM);
const Database = require('better-sqlite3');
const counts = new Map();
const probe = new Database(':memory:');
const proto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
probe.close();
for (const m of ['run', 'get', 'all', 'iterate']) {
  const orig = proto[m];
  proto[m] = function (...args) {
    const key = this.source.replace(/\\s+/g, ' ').trim().slice(0, 120);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return orig.apply(this, args);
  };
}
const exec = Database.prototype.exec;
Database.prototype.exec = function (sql) {
  const key = 'exec: ' + sql.replace(/\\s+/g, ' ').trim().slice(0, 112);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return exec.call(this, sql);
};
process.on('exit', () => writeFileSync(process.env.BENCH_STMT_OUT, JSON.stringify([...counts])));
`;

export async function run() {
  const n = envInt('BENCH_FILES', 2000);
  const top = envInt('BENCH_STMT_TOP', 25);
  const builds = { this: DIST };
  if (process.env.BENCH_BASELINE) builds.baseline = resolve(process.env.BENCH_BASELINE);
  const dir = workDir('stmts');
  const local = join(dir, 'tree');
  makeTree(local, { n, minSize: 8 * 1024, maxSize: 64 * 1024, levels: 3, fanout: 5 });
  const preload = join(dir, 'count.mjs');
  writeFileSync(preload, PRELOAD);
  const server = await startServer();
  const rows = [];
  try {
    for (const [build, dist] of Object.entries(builds)) {
      const runDir = join(dir, build);
      mkdirSync(runDir, { recursive: true });
      const config = writeConfig(runDir, server, local, { remote: `Stmts-${build}`, sync: { concurrency: 8 } });
      const out = join(runDir, 'counts.json');
      const cli = join(dist, 'cli', 'main.js');
      const code = await once(cli, config, {
        NODE_OPTIONS: `--import ${preload}`,
        BENCH_STMT_OUT: out,
        BENCH_STMT_FROM: cli,
      });
      if (code !== 0) throw new Error(`once (${build}) exited ${code}`);
      const counts = JSON.parse(readFileSync(out, 'utf8')).sort((a, b) => b[1] - a[1]);
      const total = counts.reduce((s, [, c]) => s + c, 0);
      console.log(`\n${build} (${dist}): ${total} statements, ${(total / n).toFixed(2)} per file`);
      for (const [sql, c] of counts.slice(0, top)) console.log(`${String(c).padStart(8)}  ${(c / n).toFixed(2).padStart(6)}  ${sql}`);
      rows.push({ bench: `21 SQLite statements, once over ${n} new files`, figure: build, value: total / n, unit: 'per file' });
    }
  } finally {
    await server.stop();
    rmDir(dir);
  }
  return rows;
}

function once(cli, config, env) {
  const child = track(
    spawn(process.execPath, [cli, 'once', '--config', config], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  return new Promise((r) => child.once('exit', (c) => r(c)));
}

await mainIf(import.meta, run);
