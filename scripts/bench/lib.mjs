// Shared helpers of the benchmarks: the test server as a child process, trees
// of files, configs, running the CLI while sampling its memory and CPU.
// Every process started here is stopped here (stopAll() on exit and signals).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '..', '..');
// BENCH_DIST=/path/to/other/dist runs the same benchmarks against another build (before/after).
export const DIST = process.env.BENCH_DIST ?? join(ROOT, 'dist');
export const CLI = join(DIST, 'cli', 'main.js');
/** BENCH_SERVER_DIST: the test server of another build (one server for both sides of a before/after). */
const SERVER_DIST = process.env.BENCH_SERVER_DIST ?? DIST;

const children = new Set();
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
export function stopAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.once('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    stopAll();
    process.exit(130);
  });

export const envInt = (name, dflt) => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};

export function workDir(tag) {
  return mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), `squidex-bench-${tag}-`));
}
export const rmDir = (d) => rmSync(d, { recursive: true, force: true });

/** The test server in its own process, keeping only hashes and sizes of uploads. */
export async function startServer({ maxUpload = 8 * 1024 ** 3 } = {}) {
  const child = track(
    spawn(
      process.execPath,
      [join(SERVER_DIST, 'testserver', 'main.js'), '--port', '0', '--no-keep-bytes', '--max-upload', String(maxUpload)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  const first = await new Promise((res, rej) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (l) => res(JSON.parse(l)));
    child.once('exit', (c) => rej(new Error(`test server exited with ${c}`)));
  });
  child.stdout.resume();
  let stopping = false;
  child.once('exit', (code, sig) => {
    if (!stopping) console.error(`bench: the test server exited unexpectedly (code ${code}, signal ${sig})`);
  });
  const base = first.url;
  return {
    ...first,
    pid: child.pid,
    async inspect() {
      return (await fetch(`${base}/_test/inspect`)).json();
    },
    async counters() {
      return (await this.inspect()).counters;
    },
    async resetCounters() {
      await fetch(`${base}/_test/reset-counters`, { method: 'POST' });
    },
    async token() {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: first.clientId,
        client_secret: first.clientSecret,
        scope: 'squidex-api',
      });
      const r = await fetch(`${base}/identity-server/connect/token`, { method: 'POST', body });
      return (await r.json()).access_token;
    },
    async stop() {
      if (child.exitCode !== null) return;
      stopping = true;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

/** Deterministic pseudo-random numbers (xorshift), so runs make the same sizes. */
export function rng(seed = 1) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/**
 * `n` files spread over `fanout`^`levels` folders (levels deep), sizes in
 * [minSize, maxSize]. Returns the relative paths.
 */
export function makeTree(dir, { n, minSize, maxSize, levels = 3, fanout = 5, seed = 7 }) {
  const rand = rng(seed);
  const noise = randomBytes(Math.max(maxSize, 4));
  const paths = [];
  const made = new Set();
  for (let i = 0; i < n; i++) {
    const parts = [];
    let k = i;
    for (let l = 0; l < levels; l++) {
      parts.push(`d${l}-${k % fanout}`);
      k = Math.floor(k / fanout);
    }
    const rel = `${parts.join('/')}/f${i}.bin`;
    const abs = join(dir, rel);
    const d = dirname(abs);
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    const size = minSize + Math.floor(rand() * (maxSize - minSize + 1));
    const buf = Buffer.from(noise.subarray(0, size));
    buf.writeUInt32LE(i, 0); // unique content per file
    writeFileSync(abs, buf);
    paths.push(rel);
  }
  return paths;
}

export function writeConfig(dir, server, local, { sync = {}, extra = '', watch, logLevel = 'warn', remote = 'Bench' } = {}) {
  const file = join(dir, 'sync.yaml');
  const syncLines = Object.entries(sync).map(([k, v]) => `  ${k}: ${v}`);
  writeFileSync(
    file,
    [
      'squidex:',
      `  url: ${server.url}`,
      `  app: ${server.app}`,
      `  clientId: "${server.clientId}"`,
      `  clientSecret: "${server.clientSecret}"`,
      `state: ${join(dir, 'state', 'state.db')}`,
      'mappings:',
      `  - local: "${local}"`,
      `    remote: ${remote}`,
      '    name: bench',
      ...(watch ? [`    watch: ${watch}`] : []),
      ...(syncLines.length ? ['sync:', ...syncLines] : []),
      'log:',
      `  level: ${logLevel}`,
      // The local page is on by default at a fixed port: benchmarks run daemons side by side.
      ...(String(extra).includes('http:') ? [] : ['http:', '  port: 0']),
      extra,
      '',
    ].join('\n'),
  );
  return file;
}

/** `ps -o FIELD= -p PID` where there is no /proc (macOS). */
function ps(pid, field) {
  const r = spawnSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** VmHWM / VmRSS of a live process in MB (0 once it is gone). Without /proc, the current RSS stands for the peak. */
export function memOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
  } catch {
    const rss = Number(ps(pid, 'rss')) / 1024 || 0;
    return { hwm: rss, rss };
  }
}

/** utime+stime of a live process, in seconds (without /proc: `ps`'s cumulative time, [[d-]hh:]mm:ss[.ss]). */
export function cpuOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    const t = ps(pid, 'time');
    const [days, clock] = t.includes('-') ? t.split('-') : ['0', t];
    return Number(days) * 86400 + clock.split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
  }
}

/** BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the daemon runs of a benchmark. */
export function nodeArgsFromEnv() {
  return (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** Runs the CLI to its end, sampling the peak RSS; returns wall seconds, peak MB, exit code, output. */
export async function runCli(args, { env = {}, nodeArgs = nodeArgsFromEnv(), cli = CLI } = {}) {
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, memOf(child.pid).hwm)), 50);
  const code = await new Promise((r) => child.once('exit', (c) => r(c)));
  clearInterval(sampler);
  return { seconds: (performance.now() - started) / 1000, peakMB: peak, code, out };
}

export async function timeCmd(cmd, args, opts = {}) {
  const started = performance.now();
  const child = track(spawn(cmd, args, { stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'], ...opts.spawn }));
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`);
  return (performance.now() - started) / 1000;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rows: { bench, figure, value, unit, ratio?, target?, ok? }. */
export function printTable(rows) {
  const head = ['bench', 'figure', 'value', 'ratio', 'target', ''];
  const body = rows.map((r) => [
    r.bench,
    r.figure,
    `${typeof r.value === 'number' ? fmt(r.value) : r.value} ${r.unit ?? ''}`.trim(),
    r.ratio === undefined ? '' : r.ratio,
    r.target ?? '',
    r.ok === undefined ? '' : r.ok ? 'ok' : 'MISS',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(w[i])).join(' | ')} |`;
  console.log([line(head), line(w.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n'));
}

export function fmt(n) {
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Run a bench module's `run()` when the file is executed directly. */
export async function mainIf(meta, run) {
  if (process.argv[1] && resolve(process.argv[1]) === meta.filename) {
    try {
      printTable(await run());
    } finally {
      stopAll();
    }
  }
}

/**
 * A filled state database without uploading: one synced row per file (real
 * size, mtime and SHA-256), as if `once` had run before. A restart over it
 * must send nothing but a token, so the server needs no assets for it. Written in
 * transactions of 50,000 rows; empty files are not read (their hash is fixed).
 */
export async function fillState(stateFile, local, paths, mapping = 'bench') {
  const { openState } = await import(join(DIST, 'state', 'index.js'));
  const { createHash, randomUUID } = await import('node:crypto');
  const { lstatSync } = await import('node:fs');
  const emptySha = createHash('sha256').digest('hex');
  mkdirSync(dirname(stateFile), { recursive: true });
  const state = openState(stateFile);
  try {
    const now = Date.now();
    for (let i = 0; i < paths.length; i += 50_000) {
      state.db.transaction(() => {
        for (const rel of paths.slice(i, i + 50_000)) {
          const abs = join(local, rel);
          const st = lstatSync(abs);
          const sha256 = st.size === 0 ? emptySha : createHash('sha256').update(readFileSync(abs)).digest('hex');
          state.files.recordSynced({
            mapping,
            path: rel,
            size: st.size,
            mtimeMs: st.mtimeMs,
            sha256,
            assetId: randomUUID(),
            parentId: '00000000-0000-0000-0000-000000000000',
            version: 0,
            syncedAt: now,
            missingSince: null,
          });
        }
      })();
    }
  } finally {
    state.close();
  }
}

/** `find DIR -type f -printf '%s %T@\n'`: the bare stat walk the restart is compared with (best of 3). */
export async function findWalk(dir) {
  let best = Infinity;
  for (let i = 0; i < 3; i++) best = Math.min(best, await timeCmd('find', [dir, '-type', 'f', '-printf', '%s %T@\n']));
  return best;
}

/** The same walk as a bare Node process (scripts/bench/nodewalk.mjs), best of 3: the floor for any Node walker. */
export async function nodeWalk(dir) {
  let best = Infinity;
  const script = join(ROOT, 'scripts', 'bench', 'nodewalk.mjs');
  for (let i = 0; i < 3; i++) best = Math.min(best, await timeCmd(process.execPath, [script, dir]));
  return best;
}

/** `start` as a child: resolves once it logs that it is running; exposes pid and stop(). */
export async function startDaemon(config, { env = {}, onLine, cli = CLI } = {}) {
  const started = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgsFromEnv(), cli, 'start', '--config', config], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let errText = '';
  child.stderr.on('data', (d) => (errText += d));
  const rl = createInterface({ input: child.stdout });
  const readySeconds = await new Promise((res, rej) => {
    rl.on('line', (l) => {
      onLine?.(l);
      if (l.includes('squidex-sync is running')) res((performance.now() - started) / 1000);
    });
    child.once('exit', (c) => rej(new Error(`daemon exited with ${c} before it was running: ${errText}`)));
  });
  return {
    pid: child.pid,
    readySeconds,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}
