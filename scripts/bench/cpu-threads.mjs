// Issue 21, loopback row: where the CPU of a first sync goes, thread by thread.
// The test server and `once` share the machine's cores on loopback, so their CPU
// together sets the pace. Samples /proc/<pid>/task/*/stat of `once` and of the
// test server every 50 ms (the last sample of each thread counts; a thread that
// ends between samples loses at most 50 ms), over the ceiling run and a `once`
// run of the same tree. BENCH_BASELINE=/path/to/other/dist alternates that
// build with this one, BENCH_ROUNDS times (default 3). Linux only (/proc).
// Node 20 names none of its threads, so they are told apart by order of birth:
// the main thread, then V8's platform workers (concurrent compiles, GC helpers)
// and the walk's worker thread and libuv's pool as they start.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ceilingRun } from './ceiling.mjs';
import { DIST, envInt, mainIf, makeTree, rmDir, startServer, track, workDir, writeConfig } from './lib.mjs';

const TICK = 100; // USER_HZ

function threadCpu(pid, tid) {
  const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { cpu: (Number(f[11]) + Number(f[12])) / TICK, born: Number(f[19]) };
}

/** CPU seconds per thread of `pid` from now until stop(), in order of birth (the main thread first). */
function sampleThreads(pid) {
  const base = new Map();
  const last = new Map();
  const take = (into) => {
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return; // the process is gone: its last sample stands
    }
    for (const tid of tids) {
      try {
        into.set(tid, threadCpu(pid, tid));
      } catch {
        // ended between readdir and read
      }
    }
  };
  take(base);
  const timer = setInterval(() => take(last), 50);
  return {
    stop() {
      clearInterval(timer);
      take(last);
      return [...last]
        .map(([tid, v]) => ({ tid: Number(tid), main: Number(tid) === pid, born: v.born, cpu: v.cpu - (base.get(tid)?.cpu ?? 0) }))
        .sort((a, b) => Number(b.main) - Number(a.main) || a.born - b.born || a.tid - b.tid);
    },
  };
}

const sum = (threads) => threads.reduce((a, t) => a + t.cpu, 0);

export async function run() {
  if (!existsSync('/proc/self/task')) throw new Error('cpu-threads.mjs reads /proc: Linux only.');
  const n = envInt('BENCH_FILES', 5000);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const builds = process.env.BENCH_BASELINE ? { baseline: resolve(process.env.BENCH_BASELINE), this: DIST } : { this: DIST };
  const dir = workDir('threads');
  const local = join(dir, 'tree');
  const paths = makeTree(local, { n, minSize: 8 * 1024, maxSize: 64 * 1024, levels: 3, fanout: 5 });
  const rows = [];
  const ms = (seconds) => ((seconds * 1000) / n).toFixed(3);
  try {
    for (let round = 0; round < rounds; round++) {
      const order = Object.keys(builds);
      if (round % 2 === 1) order.reverse();
      for (const build of order) {
        const server = await startServer();
        try {
          const token = await server.token();
          let srv = sampleThreads(server.pid);
          const ceiling = await ceilingRun(server, token, local, paths, 8);
          const srvCeiling = srv.stop();
          const runDir = join(dir, `${build}-${round}`);
          mkdirSync(runDir);
          const config = writeConfig(runDir, server, local, { sync: { concurrency: 8 } });
          srv = sampleThreads(server.pid);
          const started = performance.now();
          const child = track(
            spawn(process.execPath, [join(builds[build], 'cli', 'main.js'), 'once', '--config', config], { stdio: 'ignore' }),
          );
          const once = sampleThreads(child.pid);
          const code = await new Promise((r) => child.once('exit', r));
          const seconds = (performance.now() - started) / 1000;
          const onceThreads = once.stop();
          const srvOnce = srv.stop();
          if (code !== 0) throw new Error(`once (${build}) exited ${code}`);
          const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
          const tag = `21 CPU by thread, ${n} files, ${build}${build === 'baseline' ? ` (${builds.baseline})` : ''}, round ${round + 1}, load ${load}`;
          const [main, ...others] = onceThreads;
          const busy = others.filter((t) => t.cpu > 0);
          const budget = (availableParallelism() * 1000) / (0.6 * ceiling);
          rows.push(
            {
              bench: tag,
              figure: 'ceiling / once',
              value: n / seconds,
              unit: 'files/s',
              ratio: `${(n / seconds / ceiling).toFixed(2)} of ${Math.round(ceiling)} files/s`,
            },
            { bench: tag, figure: 'once: main thread', value: ms(main.cpu), unit: 'ms/file' },
            {
              bench: tag,
              figure: 'once: other threads',
              value: ms(sum(others)),
              unit: 'ms/file',
              ratio: `${busy.length} of ${others.length} busy, by birth: ${busy.map((t) => ms(t.cpu)).join(' ')}`,
            },
            {
              bench: tag,
              figure: 'server, ceiling run',
              value: ms(sum(srvCeiling)),
              unit: 'ms/file',
              ratio: `main thread ${ms(srvCeiling[0].cpu)}`,
            },
            {
              bench: tag,
              figure: 'server, once run',
              value: ms(sum(srvOnce)),
              unit: 'ms/file',
              ratio: `main thread ${ms(srvOnce[0].cpu)}`,
            },
            {
              bench: tag,
              figure: 'server + once vs budget',
              value: ms(sum(srvOnce) + sum(onceThreads)),
              unit: 'ms/file',
              ratio: `budget at 0.6 of ceiling ${budget.toFixed(3)} ms/file`,
            },
          );
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    rmDir(dir);
  }
  return rows;
}

await mainIf(import.meta, run);
