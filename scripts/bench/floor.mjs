// Issue 21's loopback row asks `once` for ≥ 0.6 of the ceiling. The ceiling is
// an in-memory loop; this measures, beside it in one run, a floor client: the
// least work any correct mirroring client does per file (floor-client.mjs: read,
// hash, send, record durably, as a process of its own, so Node's start counts
// as it does for `once`), and `once` itself. When the floor is under 0.6 of the
// ceiling on this machine, no client that does its job reaches 0.6 here.
import { join } from 'node:path';
import { ceilingRun } from './ceiling.mjs';
import { envInt, mainIf, makeTree, rmDir, runCli, startServer, workDir, writeConfig } from './lib.mjs';

export async function run() {
  const n = envInt('BENCH_FILES', 5000);
  const rounds = envInt('BENCH_ROUNDS', 3);
  const rows = [];
  for (let r = 1; r <= rounds; r++) {
    const dir = workDir('floor');
    const local = join(dir, 'tree');
    const paths = makeTree(local, { n, minSize: 8 * 1024, maxSize: 64 * 1024, levels: 3, fanout: 5 });
    const server = await startServer();
    try {
      const token = await server.token();
      const ceiling = await ceilingRun(server, token, local, paths, 8);
      const floor = await runCli([server.url, server.app, token, local, join(dir, 'floor.db')], {
        cli: join(import.meta.dirname, 'floor-client.mjs'),
      });
      if (floor.code !== 0) throw new Error(`floor client exited ${floor.code}: ${floor.out.slice(-2000)}`);
      const config = writeConfig(dir, server, local, { sync: { concurrency: 8 } });
      const once = await runCli(['once', '--config', config]);
      if (once.code !== 0) throw new Error(`once exited ${once.code}: ${once.out.slice(-2000)}`);
      const tag = `1f loopback floor, ${n} files, round ${r}`;
      const f = n / floor.seconds;
      const o = n / once.seconds;
      rows.push(
        { bench: tag, figure: 'ceiling (in memory)', value: ceiling, unit: 'files/s' },
        {
          bench: tag,
          figure: 'floor client (read, hash, send, record)',
          value: f,
          unit: 'files/s',
          ratio: `${(f / ceiling).toFixed(2)} of ceiling`,
        },
        {
          bench: tag,
          figure: 'squidex-sync once',
          value: o,
          unit: 'files/s',
          ratio: `${(o / ceiling).toFixed(2)} of ceiling, ${(o / f).toFixed(2)} of floor`,
        },
      );
    } finally {
      await server.stop();
      rmDir(dir);
    }
  }
  return rows;
}

await mainIf(import.meta, run);
