import { join } from 'node:path';
import { ceilingRun, naiveRun } from './ceiling.mjs';
import { envInt, mainIf, makeTree, rmDir, runCli, startServer, workDir, writeConfig } from './lib.mjs';

// BENCH_LATENCY_MS: comma list; the server waits that long before each answer,
// like a Squidex across a network. 0 is loopback, where the test server and
// squidex-sync share the machine's two cores and CPU sets the pace; 20 ms is a
// Squidex in the same region, where round trips do. The runs with latency use
// BENCH_FILES_LATENCY files (default 2,000: the naive uploader needs 23 ms each).
export async function run() {
  const latencies = (process.env.BENCH_LATENCY_MS ?? '0,20').split(',').map(Number);
  const rows = [];
  for (const latencyMs of latencies) {
    const n = latencyMs > 0 ? envInt('BENCH_FILES_LATENCY', 2000) : envInt('BENCH_FILES', 5000);
    rows.push(...(await runOne(n, latencyMs)));
  }
  // Issue 21: auto against servers with a capacity (pace.mjs); BENCH_PACE=0 leaves them out.
  if (process.env.BENCH_PACE !== '0') rows.push(...(await (await import('./pace.mjs')).run()));
  return rows;
}

async function runOne(n, latencyMs) {
  // Pinned at the old default, 8: the ceiling needs a number (auto has its rows in pace.mjs).
  const concurrency = envInt('BENCH_CONCURRENCY', 8);
  const dir = workDir('first');
  const local = join(dir, 'tree');
  const paths = makeTree(local, { n, minSize: 8 * 1024, maxSize: 64 * 1024, levels: 3, fanout: 5 });
  const server = await startServer();
  try {
    if (latencyMs > 0) await fetch(`${server.url}/_test/faults`, { method: 'POST', body: JSON.stringify({ latencyMs }) });
    const token = await server.token();
    const ceiling = await ceilingRun(server, token, local, paths, concurrency);
    const naive = await naiveRun(server, token, local, paths);
    await server.resetCounters();
    const config = writeConfig(dir, server, local, { sync: { concurrency } });
    const r = await runCli(['once', '--config', config]);
    if (r.code !== 0) throw new Error(`once exited ${r.code}: ${r.out.slice(-2000)}`);
    const c = await server.counters();
    const ours = n / r.seconds;
    const vsCeil = ours / ceiling;
    const vsNaive = ours / naive;
    const tag = `1 first sync ${n} files, ${latencyMs ? `${latencyMs} ms latency` : 'loopback'}, concurrency ${concurrency}`;
    return [
      { bench: tag, figure: 'ceiling (undici Pool, bodies in memory)', value: ceiling, unit: 'files/s' },
      // Nothing beats the ceiling: where it is under 4× naive, so is every client.
      {
        bench: tag,
        figure: 'naive (one POST at a time, readFile)',
        value: naive,
        unit: 'files/s',
        ratio: `ceiling = ${(ceiling / naive).toFixed(1)}× naive`,
      },
      {
        bench: tag,
        figure: 'squidex-sync once',
        value: ours,
        unit: 'files/s',
        ratio: `${vsCeil.toFixed(2)} of ceiling`,
        target: '≥ 0.7',
        ok: vsCeil >= 0.7,
      },
      {
        bench: tag,
        figure: 'squidex-sync vs naive',
        value: vsNaive,
        unit: '×',
        ratio: `${vsNaive.toFixed(1)}× naive`,
        target: '≥ 4×',
        ok: vsNaive >= 4,
      },
      { bench: tag, figure: 'requests per file (once)', value: c.requests / n, unit: 'req', ratio: byRoute(c.byRoute) },
      { bench: tag, figure: 'peak RSS (once)', value: r.peakMB, unit: 'MB' },
    ];
  } finally {
    await server.stop();
    rmDir(dir);
  }
}

function byRoute(routes) {
  return Object.entries(routes)
    .filter(([, v]) => v >= 10)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

await mainIf(import.meta, run);
