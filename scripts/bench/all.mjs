// `npm run bench`: every benchmark in one run, one table. Each is also
// runnable alone (node scripts/bench/<name>.mjs). Scale with env:
// BENCH_FILES, BENCH_LATENCY_MS (comma list, default 0,20), BENCH_FILES_LATENCY,
// BENCH_CONCURRENCY, BENCH_BIG_MB, BENCH_BIG_COUNT, BENCH_RESTART_FILES,
// BENCH_WATCH_FILES (comma list), BENCH_IDLE_S, BENCH_LAT_FILES, BENCH_RESUME_MB;
// BENCH_META_FILES, BENCH_META_ROUNDS; BENCH_MILLION_FILES, BENCH_MILLION_FIRST (comma list), BENCH_MILLION_RUNS;
// BENCH_ONLY=first,big,restart,watch,latency,resume,meta,million picks some.
import { execSync } from 'node:child_process';
import { printTable, stopAll } from './lib.mjs';

const all = {
  first: () => import('./first-sync.mjs'),
  big: () => import('./big-files.mjs'),
  restart: () => import('./restart.mjs'),
  watch: () => import('./watch.mjs'),
  latency: () => import('./latency.mjs'),
  resume: () => import('./resume.mjs'),
  meta: () => import('./metadata.mjs'),
  million: () => import('./million.mjs'),
};
const only = (process.env.BENCH_ONLY ?? Object.keys(all).join(',')).split(',');
const os = await import('node:os');
let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
try {
  cpu = execSync("lscpu | sed -n 's/^Model name: *//p'").toString().trim() || cpu;
} catch {
  // no lscpu (macOS): Node's name for the CPU
}
console.log(`# squidex-sync benchmarks — ${new Date().toISOString()} — ${cpu}, ${os.cpus().length} cores, Node ${process.version}\n`);
const rows = [];
try {
  for (const name of only) {
    const mod = await all[name]();
    const r = await mod.run();
    printTable(r);
    console.log('');
    rows.push(...r);
  }
} finally {
  stopAll();
}
console.log('## all\n');
printTable(rows);
