// Benchmark 3: restart over many unchanged files with a filled database.
// Seconds of `once` (process start to "in sync" exit) against a bare stat
// walk of the same tree (`find -printf '%s %T@'`), and the requests it sent.
// It also times the same walk in a bare Node process (nodewalk.mjs): what
// any walker in Node costs before it reads a database or compares a row.
// The database is filled directly through the state module (one synced row
// per file, real size/mtime/SHA-256): a restart over it must send nothing but
// a token, so the server needs no assets and the fill takes seconds, not an
// upload of the whole tree.
import { join } from 'node:path';
import { envInt, findWalk, fillState, nodeWalk, mainIf, makeTree, rmDir, runCli, startServer, workDir, writeConfig } from './lib.mjs';

export async function run() {
  const n = envInt('BENCH_RESTART_FILES', 100_000);
  const dir = workDir('restart');
  const local = join(dir, 'tree');
  // The tree of measurements.md: 64-byte files, 1,000 folders (20 × 50).
  const paths = makeTree(local, { n, minSize: 64, maxSize: 64, ...shape(n) });
  const server = await startServer();
  try {
    const config = writeConfig(dir, server, local);
    await fillState(join(dir, 'state', 'state.db'), local, paths);
    const walk = await findWalk(local);
    const bare = await nodeWalk(local);
    let best = Infinity;
    let last;
    for (let i = 0; i < 3; i++) {
      await server.resetCounters();
      last = await runCli(['once', '--config', config]);
      if (last.code !== 0) throw new Error(`once exited ${last.code}: ${last.out.slice(-2000)}`);
      best = Math.min(best, last.seconds);
    }
    const c = await server.counters();
    const other = c.requests - (c.byRoute['POST /token'] ?? 0);
    const tag = `3 restart ${n} unchanged`;
    return [
      { bench: tag, figure: "find -printf '%s %T@' (best of 3)", value: walk, unit: 's' },
      {
        bench: tag,
        figure: 'bare Node stat walk, no db (nodewalk.mjs, best of 3)',
        value: bare,
        unit: 's',
        ratio: `${(bare / walk).toFixed(1)}× find`,
      },
      {
        bench: tag,
        figure: 'squidex-sync once, filled db (best of 3)',
        value: best,
        unit: 's',
        ratio: `${(best / walk).toFixed(1)}× find`,
        target: '≤ 2×',
        ok: best / walk <= 2,
      },
      {
        bench: tag,
        figure: 'requests besides the token',
        value: other,
        unit: 'req',
        ratio: `uploads ${c.uploads}${
          other
            ? `; ${Object.entries(c.byRoute)
                .filter(([k]) => k !== 'POST /token')
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')}`
            : ''
        }`,
        target: '0',
        ok: other === 0 && c.uploads === 0,
      },
      { bench: tag, figure: 'peak RSS (once)', value: last.peakMB, unit: 'MB' },
    ];
  } finally {
    await server.stop();
    rmDir(dir);
  }
}

/** Two levels of folders, ~100 files per leaf folder (32 × 32 = 1,024 folders at 100k). */
export function shape(n) {
  return { levels: 2, fanout: Math.max(1, Math.ceil(Math.sqrt(n / 100))) };
}

await mainIf(import.meta, run);
