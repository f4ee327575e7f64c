// Benchmark 2: large files. MB/s of `once` against the ceiling
// min(sha256sum rate, curl upload rate to the same server), and the daemon's
// peak RSS (VmHWM). Files this big go through the tus endpoint in pieces of
// upload.chunkBytes (4 MiB by default; issue 15: ≥ 0.8 of curl's rate); curl
// sends each file as one multipart request, the fastest a client can be.
// curl uploads with `-F file=@PATH`: curl streams the part from the file as
// it sends (as `-T` does for a raw body), while `--data-binary @PATH` would
// read the whole file into memory first (reference/measurements.md), so it is
// not used. BENCH_BIG_MULTIPART=1 adds a run with tus off
// (upload.tusAboveBytes above the file size): one multipart request per file.
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { envInt, mainIf, rmDir, runCli, startServer, timeCmd, workDir, writeConfig } from './lib.mjs';

export async function run() {
  const mb = envInt('BENCH_BIG_MB', 1024);
  const count = envInt('BENCH_BIG_COUNT', 3);
  const dir = workDir('big');
  const local = join(dir, 'tree');
  const fs = statfsSync(dir);
  const free = (fs.bavail * fs.bsize) / 1024 ** 2;
  if (free < mb * count * 1.2 + 512)
    throw new Error(`not enough space in ${dir}: ${free.toFixed(0)} MB free, need ${mb * count} MB (set BENCH_BIG_MB)`);
  const files = [];
  const { mkdirSync } = await import('node:fs');
  mkdirSync(local, { recursive: true });
  const chunk = randomBytes(1024 * 1024);
  for (let i = 0; i < count; i++) {
    const p = join(local, `big-${i}.bin`);
    const fd = openSync(p, 'w');
    for (let m = 0; m < mb; m++) {
      chunk.writeUInt32LE(m * 31 + i, 0);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    files.push(p);
  }
  const totalMB = (mb * count * 1024 * 1024) / 1e6;
  const server = await startServer({ maxUpload: (mb + 16) * 1024 * 1024 });
  try {
    // Warm the page cache the same way for everyone; each figure is for all files in a row.
    let shaS = 0;
    for (const f of files) shaS += await timeCmd('sha256sum', [f]);
    const token = await server.token();
    const curlArgs = (f) => [
      '-sS',
      '-f',
      '-o',
      '/dev/null',
      '-H',
      `Authorization: Bearer ${token}`,
      '-F',
      `file=@${f};type=application/octet-stream`,
      `${server.url}/api/apps/${server.app}/assets/${randomUUID()}?parentId=00000000-0000-0000-0000-000000000000&duplicate=true`,
    ];
    let curlS = 0;
    for (const f of files) {
      curlS += await timeCmd('curl', curlArgs(f));
    }
    const shaRate = totalMB / shaS;
    const curlRate = totalMB / curlS;
    const ceiling = Math.min(shaRate, curlRate);
    // Best of two runs from an empty state (the machines these run on are shared and noisy), each into
    // a folder of its own: in the same folder the second run would adopt the first one's assets.
    let r;
    let patches = 0;
    const rates = [];
    for (let run = 0; run < 2; run++) {
      rmDir(join(dir, 'state'));
      const config = writeConfig(dir, server, local, { remote: `Bench-tus-${run}` });
      await server.resetCounters();
      const one = await runCli(['once', '--config', config]);
      if (one.code !== 0) throw new Error(`once exited ${one.code}: ${one.out.slice(-2000)}`);
      const byRoute = (await server.counters()).byRoute;
      patches = byRoute['PATCH /assets/tus/{fileId}'] ?? 0;
      if ((byRoute['POST /assets/tus'] ?? 0) !== count)
        throw new Error(`expected ${count} tus uploads, the server saw ${JSON.stringify(byRoute)}`);
      rates.push(totalMB / one.seconds);
      if (!r || one.seconds < r.seconds) r = { ...one, peakMB: Math.max(one.peakMB, r?.peakMB ?? 0) };
      else r.peakMB = Math.max(r.peakMB, one.peakMB);
    }
    const ours = totalMB / r.seconds;
    const tag = `2 big files ${count} × ${mb} MiB`;
    const rows = [
      { bench: tag, figure: 'sha256sum', value: shaRate, unit: 'MB/s' },
      { bench: tag, figure: 'curl -F file=@ (streamed multipart, one request per file)', value: curlRate, unit: 'MB/s' },
      {
        bench: tag,
        figure: `squidex-sync once, tus (${patches} PATCHes of 4 MiB; best of ${rates.map((x) => x.toFixed(0)).join(', ')})`,
        value: ours,
        unit: 'MB/s',
        ratio: `${(ours / curlRate).toFixed(2)} of curl (${(ours / ceiling).toFixed(2)} of ceiling)`,
        target: '≥ 0.8 of curl',
        ok: ours / curlRate >= 0.8,
      },
      { bench: tag, figure: 'peak RSS (once, both runs)', value: r.peakMB, unit: 'MB', target: '≤ 150', ok: r.peakMB <= 150 },
    ];
    if (process.env.BENCH_BIG_MULTIPART === '1') {
      rmDir(join(dir, 'state'));
      const multipart = writeConfig(dir, server, local, {
        remote: 'Bench-multipart',
        extra: `upload:\n  tusAboveBytes: ${(mb + 1) * 1024 * 1024}`,
      });
      await server.resetCounters();
      const m = await runCli(['once', '--config', multipart]);
      if (m.code !== 0) throw new Error(`once (multipart) exited ${m.code}: ${m.out.slice(-2000)}`);
      if (((await server.counters()).byRoute['POST /assets/{id}'] ?? 0) < count)
        throw new Error('the multipart run did not upload every file');
      const rate = totalMB / m.seconds;
      rows.push({
        bench: tag,
        figure: 'squidex-sync once, tus off (multipart)',
        value: rate,
        unit: 'MB/s',
        ratio: `${(rate / curlRate).toFixed(2)} of curl`,
      });
      rows.push({ bench: tag, figure: 'peak RSS (once, multipart)', value: m.peakMB, unit: 'MB' });
    }
    return rows;
  } finally {
    await server.stop();
    rmDir(dir);
  }
}

await mainIf(import.meta, run);
