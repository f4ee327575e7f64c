// Issue 21: the client's CPU per request on loopback, transport alone. A plain
// node:http server in its own process answers every POST with an asset-sized
// JSON; this process sends BENCH_REQUESTS (5,000) 30 KB bodies, 8 at a time,
// through this build's client path (exchange + deadline) and through undici's
// request() + body.text() with an AbortController deadline (the path before),
// alternating BENCH_ROUNDS (4) times. Prints the median µs of CPU per request.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Agent, request } from 'undici';
import { DIST, envInt, mainIf, track } from './lib.mjs';

const SERVER = `
import { createServer } from 'node:http';
const body = JSON.stringify({ id: '0e6c3c5e-8a3c-4d7c-9b8f-2a1d5c0e9f11', version: 0, fileName: 'f.bin', tags: ['a'], metadata: {}, fileSize: 30000, mimeType: 'application/octet-stream', _links: {} });
createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', etag: 'W/"0"' }); res.end(body); }); })
  .listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

export async function run() {
  const n = envInt('BENCH_REQUESTS', 5000);
  const rounds = envInt('BENCH_ROUNDS', 4);
  const { exchange } = await import(pathToFileURL(join(DIST, 'squidex', 'exchange.js')).href);
  const { startDeadline } = await import(pathToFileURL(join(DIST, 'squidex', 'deadline.js')).href);
  const server = track(spawn(process.execPath, ['--input-type=module', '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = await new Promise((r) => createInterface({ input: server.stdout }).once('line', r));
  const url = `http://127.0.0.1:${port}/api/apps/bench/assets?parentId=x`;
  const payload = Buffer.alloc(30_000, 7);
  const headers = {
    authorization: 'Bearer t',
    accept: 'application/json',
    'content-type': 'multipart/form-data; boundary=x',
    'content-length': String(payload.length),
  };
  const paths = {
    async request(agent, job) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(new Error('deadline')), 120_000);
      const onOuter = () => ac.abort(job.reason);
      job.addEventListener('abort', onOuter, { once: true });
      try {
        const res = await request(url, { method: 'POST', headers, body: payload, dispatcher: agent, signal: ac.signal });
        return JSON.parse(await res.body.text());
      } finally {
        clearTimeout(timer);
        job.removeEventListener('abort', onOuter);
      }
    },
    async exchange(agent, job) {
      const deadline = startDeadline(120_000, () => new Error('deadline'), job);
      try {
        return JSON.parse((await exchange(agent, url, { method: 'POST', headers, body: payload, abort: deadline })).text);
      } finally {
        deadline.clear();
      }
    },
  };
  const cpu = { request: [], exchange: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const path of round % 2 === 0 ? ['request', 'exchange'] : ['exchange', 'request']) {
        const agent = new Agent({ connections: 8, maxResponseSize: 32 << 20 });
        const job = new AbortController().signal; // the worker's signal, as the client is given one
        for (let i = 0; i < 200; i++) await paths[path](agent, job); // warm, as a sync is after its first files
        let left = n;
        const c0 = process.cpuUsage();
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (left-- > 0) await paths[path](agent, job);
          }),
        );
        const c = process.cpuUsage(c0);
        cpu[path].push((c.user + c.system) / n);
        await agent.close();
      }
    }
  } finally {
    server.kill();
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tag = `21 transport alone, ${n} POSTs of 30 KB, 8 at a time, ${rounds} rounds`;
  return [
    {
      bench: tag,
      figure: 'undici request() + body.text(), AbortController deadline',
      value: med(cpu.request),
      unit: 'µs CPU/request',
      ratio: cpu.request.map((x) => x.toFixed(0)).join(', '),
    },
    {
      bench: tag,
      figure: 'exchange() + startDeadline (this build)',
      value: med(cpu.exchange),
      unit: 'µs CPU/request',
      ratio: cpu.exchange.map((x) => x.toFixed(0)).join(', '),
    },
    { bench: tag, figure: 'this ÷ request()', value: med(cpu.exchange) / med(cpu.request), unit: '×' },
  ];
}

await mainIf(import.meta, run);
