// Benchmark 6 (issue 15): kill -9 half-way through a big upload, then a
// restart. The upload goes through tus in pieces of 4 MiB against Squidex's
// default per-request limit (5 MiB); the daemon is killed once the server
// holds half of the file, and `once` finishes it. Bytes sent in all (the
// server's count of PATCH bytes) must stay ≤ the file + 2 chunks: the restart
// resumes where the server is instead of sending the file again.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { envInt, mainIf, rmDir, runCli, sleep, startDaemon, startServer, workDir, writeConfig } from './lib.mjs';

const CHUNK = 4 * 1024 * 1024;

export async function run() {
  const mb = envInt('BENCH_RESUME_MB', 1024);
  const size = mb * 1024 * 1024;
  const dir = workDir('resume');
  const local = join(dir, 'tree');
  const fs = statfsSync(dir);
  if ((fs.bavail * fs.bsize) / 1024 ** 2 < mb * 1.2 + 512)
    throw new Error(`not enough space in ${dir} for a ${mb} MiB file (set BENCH_RESUME_MB)`);
  mkdirSync(local, { recursive: true });
  const block = randomBytes(1024 * 1024);
  const fd = openSync(join(local, 'launch.mov'), 'w');
  for (let m = 0; m < mb; m++) {
    block.writeUInt32LE(m, 0);
    writeSync(fd, block);
  }
  closeSync(fd);
  const server = await startServer({ maxUpload: 5 * 1024 * 1024 });
  let daemon;
  try {
    const config = writeConfig(dir, server, local, { logLevel: 'info' });
    daemon = await startDaemon(config, { onLine: process.env.BENCH_DEBUG ? (l) => console.error(l) : undefined });
    // Poll the server until it holds half of the file (bounded: 10 minutes).
    let held = 0;
    for (let i = 0; i < 60_000 && held < size / 2; i++) {
      await sleep(10);
      const ins = await server.inspect();
      if (ins.assets.length > 0) throw new Error('the upload finished before it could be killed half-way: use a bigger BENCH_RESUME_MB');
      held = ins.tus[0]?.offset ?? 0;
    }
    if (held < size / 2) throw new Error(`the server never held half of the file (${held} bytes)`);
    process.kill(daemon.pid, 'SIGKILL');
    daemon = undefined;
    await sleep(200);
    const atKill = (await server.inspect()).tus[0]?.offset ?? 0;
    const r = await runCli(['once', '--config', config]);
    if (r.code !== 0) throw new Error(`once after the kill exited ${r.code}: ${r.out.slice(-2000)}`);
    const ins = await server.inspect();
    const asset = ins.assets.find((a) => a.fileName === 'launch.mov' && !a.deleted);
    if (!asset || asset.fileSize !== size) throw new Error(`the file is not on the server whole: ${JSON.stringify(asset)}`);
    const total = ins.counters.tusBytes;
    const again = total - size;
    const tag = `6 kill -9 at half of ${mb} MiB, restart`;
    return [
      { bench: tag, figure: 'held by the server at the kill', value: atKill / 1024 ** 2, unit: 'MiB' },
      {
        bench: tag,
        figure: 'bytes sent in all',
        value: total / 1024 ** 2,
        unit: 'MiB',
        target: `≤ ${mb} MiB + 2 chunks`,
        ok: total <= size + 2 * CHUNK,
      },
      {
        bench: tag,
        figure: 'sent again',
        value: again / 1024 ** 2,
        unit: 'MiB',
        ratio: `${((again / size) * 100).toFixed(2)} % of the file`,
      },
      {
        bench: tag,
        figure: 'tus uploads created',
        value: String(ins.counters.byRoute['POST /assets/tus'] ?? 0),
        target: '1',
        ok: ins.counters.byRoute['POST /assets/tus'] === 1,
      },
    ];
  } finally {
    if (daemon) await daemon.stop().catch(() => undefined);
    await server.stop();
    rmDir(dir);
  }
}

await mainIf(import.meta, run);
