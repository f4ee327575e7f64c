import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ceilingRun, naiveRun } from './ceiling.mjs';
import { cpuOf, envInt, mainIf, makeTree, rmDir, runCli, startServer, workDir, writeConfig } from './lib.mjs';

/** Of the ceiling: the loopback row's target, and the share the CPU budget row is worked out for. */
const LOOPBACK_TARGET = 0.6;

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
    const serverBefore = cpuOf(server.pid);
    const ceiling = await ceilingRun(server, token, local, paths, concurrency);
    const serverCeiling = cpuOf(server.pid) - serverBefore;
    const naive = await naiveRun(server, token, local, paths);
    await server.resetCounters();
    const config = writeConfig(dir, server, local, { sync: { concurrency } });
    const cpuOut = join(dir, 'once-cpu.json');
    const serverOnceBefore = cpuOf(server.pid);
    const r = await runCli(['once', '--config', config], { env: cpuProbeEnv(cpuOut) });
    const serverOnce = cpuOf(server.pid) - serverOnceBefore;
    if (r.code !== 0) throw new Error(`once exited ${r.code}: ${r.out.slice(-2000)}`);
    const c = await server.counters();
    const ours = n / r.seconds;
    const vsCeil = ours / ceiling;
    const vsNaive = ours / naive;
    // Issue 21's targets: on loopback the client's CPU is the limit; behind a latency, its round trips are.
    const goal = latencyMs ? 0.85 : 0.6;
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
        target: `≥ ${goal}`,
        ok: vsCeil >= goal,
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
      ...(latencyMs === 0 ? cpuRows(tag, { n, ceiling, serverCeiling, serverOnce, once: readCpu(cpuOut) }) : []),
    ];
  } finally {
    await server.stop();
    rmDir(dir);
  }
}

/** NODE_OPTIONS for a `once` run that leaves its CPU in `out` (cpuprobe.mjs). */
function cpuProbeEnv(out) {
  // A file URL: --import takes no bare Windows path.
  const probe = pathToFileURL(join(import.meta.dirname, 'cpuprobe.mjs')).href;
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${probe}`.trim(), BENCH_CPU_OUT: out };
}

function readCpu(file) {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
}

/**
 * On loopback the test server and `once` share the machine's cores, so CPU
 * sets the pace: the two together may spend at most cores ÷ (target × ceiling
 * files/s) per file for `once` to reach the target. These rows show where each
 * side stands against that budget (the server's CPU under `once` includes its
 * folder and stamp requests; under the ceiling it serves uploads only). The
 * load average is printed with it: other processes on the machine take cores
 * the budget counts, and a loaded machine's ceiling, and so its budget, moves.
 * So does the Node version: the ceiling, the test server and `once` all run on
 * the one that runs this script, and each of them moves with it.
 */
function cpuRows(tag, { n, ceiling, serverCeiling, serverOnce, once }) {
  const ms = (seconds) => (seconds * 1000) / n;
  const cores = availableParallelism();
  const budget = (cores * 1000) / (LOOPBACK_TARGET * ceiling);
  const rows = [
    { bench: tag, figure: 'CPU per file: test server, ceiling run', value: ms(serverCeiling), unit: 'ms' },
    {
      bench: tag,
      figure: 'CPU per file: test server, once run',
      value: ms(serverOnce),
      unit: 'ms',
      ratio: `${(serverOnce / serverCeiling).toFixed(2)}× the ceiling run's`,
    },
  ];
  if (!once) return rows; // the probe wrote nothing: `once` did not reach its exit handlers
  const split =
    once.main === null ? '' : `main thread ${ms(once.main).toFixed(2)} ms, other threads ${ms(once.all - once.main).toFixed(2)} ms`;
  const both = ms(serverOnce + once.all);
  rows.push(
    { bench: tag, figure: 'CPU per file: once (all threads)', value: ms(once.all), unit: 'ms', ratio: split },
    {
      bench: tag,
      figure: `CPU budget per file at ${LOOPBACK_TARGET} of ceiling`,
      value: budget,
      unit: 'ms',
      ratio: `${cores} cores ÷ ${Math.round(LOOPBACK_TARGET * ceiling)} files/s; server + once spent ${both.toFixed(2)} ms; load ${loadavg()[0].toFixed(1)}; Node ${process.versions.node}`,
      target: `server + once ≤ ${budget.toFixed(2)} ms`,
      ok: both <= budget,
    },
  );
  return rows;
}

function byRoute(routes) {
  return Object.entries(routes)
    .filter(([, v]) => v >= 10)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

await mainIf(import.meta, run);
