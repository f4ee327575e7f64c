// Benchmark 5: latency. `start` on an empty folder; files are written at a
// steady trickle and each one's time from close to "asset on the server" is
// taken by polling the test server (every BENCH_POLL_MS, 20 ms default, so
// the figure is late by half that on average). Target: p50 ≤ stabilityMs + 250.
import { writeFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { envInt, mainIf, rmDir, sleep, startDaemon, startServer, workDir, writeConfig } from './lib.mjs';

export async function run() {
  const n = envInt('BENCH_LAT_FILES', 200);
  const gapMs = envInt('BENCH_LAT_GAP_MS', 100);
  const stabilityMs = envInt('BENCH_STABILITY_MS', 2000);
  const pollMs = envInt('BENCH_POLL_MS', 20);
  const dir = workDir('latency');
  const local = join(dir, 'tree');
  mkdirSync(join(local, 'in'), { recursive: true });
  const server = await startServer();
  const closed = new Map();
  const seen = new Map();
  let d;
  try {
    const config = writeConfig(dir, server, local, { sync: { stabilityMs }, logLevel: 'info' });
    d = await startDaemon(config);
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const { assets } = await server.inspect();
        const now = performance.now();
        for (const a of assets) if (!seen.has(a.fileName)) seen.set(a.fileName, now);
        await sleep(pollMs);
      }
    })();
    const body = Buffer.alloc(16 * 1024, 7);
    for (let i = 0; i < n; i++) {
      const name = `lat-${i}.bin`;
      body.writeUInt32LE(i, 0);
      writeFileSync(join(local, 'in', name), body);
      closed.set(name, performance.now());
      await sleep(gapMs);
    }
    const deadline = performance.now() + stabilityMs + 30_000;
    while (seen.size < n && performance.now() < deadline) await sleep(100);
    polling = false;
    await poller;
  } finally {
    await d?.stop();
    await server.stop();
    rmDir(dir);
  }
  const lat = [...closed]
    .filter(([k]) => seen.has(k))
    .map(([k, t]) => seen.get(k) - t)
    .sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  const tag = `5 latency ${n} files, 1 per ${gapMs} ms`;
  const target = stabilityMs + 250;
  return [
    {
      bench: tag,
      figure: 'close → visible p50',
      value: q(0.5),
      unit: 'ms',
      ratio: `stability ${stabilityMs} + ${(q(0.5) - stabilityMs).toFixed(0)}`,
      target: `≤ ${target}`,
      ok: q(0.5) <= target,
    },
    { bench: tag, figure: 'close → visible p95', value: q(0.95), unit: 'ms' },
    { bench: tag, figure: 'files seen', value: lat.length, unit: `of ${n}`, ok: lat.length === n },
  ];
}

await mainIf(import.meta, run);
