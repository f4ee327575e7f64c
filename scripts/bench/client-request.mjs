// Issue 21: the client's CPU per upload on loopback, the whole request path of
// src/squidex (token, gate, multipart envelope, deadline, exchange, answer
// parse), without the worker around it. A plain node:http server in its own
// process answers each upsert with the test server's asset body for that id;
// this process sends BENCH_REQUESTS (5,000) uploads of 30 KB from memory, 8
// at a time through a pinned gate of 8 (as `once` at concurrency 8), through
// this build's SquidexClient and through BENCH_BASELINE's, alternating
// BENCH_ROUNDS (4) times in one process. Prints the median µs of CPU per upload.
// Each build gets the job signal its pool gives: this build one signal for
// every job; the baseline a new AbortController per job (main before session
// 17), or with BENCH_BASELINE_SIGNAL=shared one for all, for a baseline whose
// pool already shares it (a same-build run then reads ~1.0×).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { DIST, envInt, mainIf, track } from './lib.mjs';

const SERVER = (dist) => `
import { createServer } from 'node:http';
import { assetDto } from ${JSON.stringify(pathToFileURL(join(dist, 'testserver', 'dto.js')).href)};
const now = Date.now();
createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const id = /\\/assets\\/([^/?]+)/.exec(req.url)[1];
    const a = { id, parentId: 'b1e0d7a2-4c1f-4f0e-9d6a-2f3b4c5d6e7f', fileName: 'file-' + id.slice(0, 6) + '.bin', fileHash: 'pAp0RDvipkoNCCTgey1HTJekRKKEWT6Ft5JdRLuAfAc=',
      isProtected: false, slug: 'file-' + id.slice(0, 6) + '.bin', mimeType: 'application/octet-stream', fileSize: 30000, metadata: {}, tags: [],
      fileVersion: 0, createdBy: 'client:bench', lastModifiedBy: 'client:bench', created: now, lastModified: now, version: 0 };
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', etag: 'W/"0"' });
    res.end(JSON.stringify(assetDto('bench', 'http://127.0.0.1', a)));
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

async function client(dist, url) {
  const load = (m) => import(pathToFileURL(join(dist, 'squidex', m)).href);
  const [{ SquidexClient }, { UploadGate }, { allocWithEnvelopeRoom, giveBack }] = await Promise.all([
    load('client.js'),
    load('gate.js'),
    load('multipart.js'),
  ]);
  const c = new SquidexClient({ url, app: 'bench', token: 't', connections: 8, uploads: new UploadGate(8) });
  const content = Buffer.alloc(30_000, 7);
  const sha256 = createHash('sha256').update(content).digest('hex');
  let n = 0;
  return {
    async upload(signal) {
      const data = allocWithEnvelopeRoom(content.length);
      content.copy(data);
      const id = `0e6c3c5e-8a3c-4d7c-9b8f-${String(++n).padStart(12, '0')}`;
      const fileName = `file-${n}.bin`;
      await c.upsertAsset(
        id,
        'b1e0d7a2-4c1f-4f0e-9d6a-2f3b4c5d6e7f',
        { path: `/x/${fileName}`, fileName, bytes: { data, sha256 } },
        { signal },
      );
      giveBack(data);
    },
    close: () => c.close(),
  };
}

export async function run() {
  const n = envInt('BENCH_REQUESTS', 5000);
  const rounds = envInt('BENCH_ROUNDS', 4);
  const baseline = process.env.BENCH_BASELINE;
  if (!baseline) throw new Error('BENCH_BASELINE=<another build’s dist> is needed: this bench compares two builds');
  const server = track(spawn(process.execPath, ['--input-type=module', '-e', SERVER(DIST)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise((r) => createInterface({ input: server.stdout }).once('line', r));
  const url = `http://127.0.0.1:${port}`;
  const builds = { baseline, this: DIST };
  const sharedBaseline = process.env.BENCH_BASELINE_SIGNAL === 'shared';
  const cpu = { baseline: [], this: [] };
  // Young-generation collections during each build's measured part: its allocation per upload.
  const scavenges = { baseline: [], this: [] };
  let scavenged = 0;
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === 1) scavenged++;
  });
  gc.observe({ entryTypes: ['gc'] });
  try {
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? ['baseline', 'this'] : ['this', 'baseline']) {
        const c = await client(builds[name], url);
        // The job's signal as each build's pool gives it (see the top); a controller per job is counted here too.
        const shared = new AbortController().signal;
        const job = name === 'this' || sharedBaseline ? () => shared : () => new AbortController().signal;
        for (let i = 0; i < 200; i++) await c.upload(job()); // warm, as a sync is after its first files
        let left = n;
        const s0 = scavenged;
        const c0 = process.cpuUsage();
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            while (left-- > 0) await c.upload(job());
          }),
        );
        const used = process.cpuUsage(c0);
        cpu[name].push((used.user + used.system) / n);
        await new Promise((r) => setTimeout(r, 20)); // the observer hears of the last collections
        scavenges[name].push(((scavenged - s0) * 1000) / n);
        await c.close();
      }
    }
  } finally {
    gc.disconnect();
    server.kill();
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tag = `21 client request path, ${n} uploads of 30 KB from memory, gate of 8, ${rounds} rounds`;
  return [
    {
      bench: tag,
      figure: `SquidexClient.upsertAsset (${baseline})`,
      value: med(cpu.baseline),
      unit: 'µs CPU/upload',
      ratio: cpu.baseline.map((x) => x.toFixed(0)).join(', '),
    },
    {
      bench: tag,
      figure: 'SquidexClient.upsertAsset (this build)',
      value: med(cpu.this),
      unit: 'µs CPU/upload',
      ratio: cpu.this.map((x) => x.toFixed(0)).join(', '),
    },
    { bench: tag, figure: 'this ÷ baseline', value: med(cpu.this) / med(cpu.baseline), unit: '×' },
    {
      bench: tag,
      figure: 'scavenges per 1,000 uploads, baseline → this build',
      value: med(scavenges.this),
      unit: '',
      ratio: `${med(scavenges.baseline).toFixed(1)} → ${med(scavenges.this).toFixed(1)}`,
    },
  ];
}

await mainIf(import.meta, run);
