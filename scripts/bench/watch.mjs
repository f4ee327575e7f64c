// Benchmark 4: watching. `start` over N files with a filled database: seconds
// to "running" (watchers ready and the start rescan done), resident memory
// after ready and peak, and the CPU it burns while idle (utime+stime from
// /proc/<pid>/stat over BENCH_IDLE_S seconds), in events mode and poll mode.
import { join } from 'node:path';
import { cpuOf, envInt, fillState, mainIf, makeTree, memOf, rmDir, sleep, startDaemon, startServer, workDir, writeConfig } from './lib.mjs';
import { shape } from './restart.mjs';

export async function run() {
  const sizes = (process.env.BENCH_WATCH_FILES ?? '10000,100000').split(',').map(Number);
  const idleS = envInt('BENCH_IDLE_S', 60);
  const modes = (process.env.BENCH_WATCH_MODES ?? 'events').split(',');
  const rows = [];
  const server = await startServer();
  try {
    for (const n of sizes) {
      const dir = workDir('watch');
      try {
        const local = join(dir, 'tree');
        const paths = makeTree(local, { n, minSize: 64, maxSize: 64, ...shape(n) });
        for (const mode of modes) {
          rmDir(join(dir, 'state'));
          const config = writeConfig(dir, server, local, { watch: mode, logLevel: 'info' });
          await fillState(join(dir, 'state', 'state.db'), local, paths);
          await server.resetCounters();
          const d = await startDaemon(config);
          try {
            const after = memOf(d.pid);
            const cpu0 = cpuOf(d.pid);
            await sleep(idleS * 1000);
            const cpu1 = cpuOf(d.pid);
            const end = memOf(d.pid);
            const idle = (100 * (cpu1 - cpu0)) / idleS;
            const tag = `4 watch ${n} files (${mode})`;
            const big = n >= 100_000;
            rows.push(
              { bench: tag, figure: 'start → running', value: d.readySeconds, unit: 's' },
              { bench: tag, figure: 'RSS after ready / peak', value: `${after.rss.toFixed(0)} / ${end.hwm.toFixed(0)}`, unit: 'MB', target: big ? '≤ 300' : '', ok: big ? end.hwm <= 300 : undefined },
              { bench: tag, figure: `idle CPU over ${idleS} s`, value: idle, unit: '% of a core', target: mode === 'events' ? '≈ 0' : 'bounded', ok: mode === 'events' ? idle < 1 : idle < 15 },
            );
          } finally {
            await d.stop();
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
