// Preloaded into a `once` run (NODE_OPTIONS=--import, see cpuSplit in first-sync.mjs):
// at exit it writes the process's CPU, all threads together and its main thread's
// own, as JSON to BENCH_CPU_OUT. A thread that ended earlier (the walk's) counts
// in `all` only. Without /proc the main thread is left out.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.BENCH_CPU_OUT;
if (out) {
  process.on('exit', () => {
    const u = process.cpuUsage();
    let main = null;
    try {
      const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      main = (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
    } catch {
      // no /proc (macOS): the split is not printed
    }
    writeFileSync(out, JSON.stringify({ all: (u.user + u.system) / 1e6, main }));
  });
}
