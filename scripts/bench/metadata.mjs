// Benchmark 7: the cost of reading keywords and credits (issue 17).
// A first sync of BENCH_META_FILES (2,000) JPEGs of 50–500 KB, each with an XMP
// packet (keywords, title, creator, rights), with `embeddedMetadata: false` and
// `true`, side by side against one test-server process: rounds alternate the
// order so neither always runs on a warmer machine. Target: on ≤ 1.10 × off
// (median wall time). BENCH_META_FILES, BENCH_META_ROUNDS (default 4).
// BENCH_BASELINE=/path/to/other/dist runs that build too, in the same rounds
// (each round: both builds, both modes, the order alternating), and prints
// its rows beside this build's. BENCH_NODE_ARGS (e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof") is passed to every `once`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { cpuOf, DIST, envInt, mainIf, nodeArgsFromEnv, rmDir, rng, startServer, track, workDir, writeConfig } from './lib.mjs';

/**
 * The machine is shared and noisy: besides wall time, each run reports the CPU
 * seconds of the `once` process itself (all its threads) and of its main
 * thread alone (which sets the pace: the rest is GC helpers, the walk and
 * libuv's pool), written at its exit by a module preloaded through NODE_OPTIONS.
 */
function cpuProbe(dir) {
  const probe = join(dir, 'cpu-probe.mjs');
  writeFileSync(
    probe,
    `import { readFileSync, writeFileSync } from 'node:fs';
process.on('exit', () => {
  const u = process.cpuUsage();
  let main = null;
  try {
    const s = readFileSync('/proc/self/task/' + process.pid + '/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    main = (Number(f[11]) + Number(f[12])) / 100;
  } catch {}
  writeFileSync(process.env.BENCH_CPU_OUT, JSON.stringify({ cpu: (u.user + u.system) / 1e6, main }));
});
`,
  );
  return probe;
}

const MODES = ['off', 'on'];

export async function run() {
  const n = envInt('BENCH_META_FILES', 2000);
  const rounds = envInt('BENCH_META_ROUNDS', 4);
  const baseline = process.env.BENCH_BASELINE;
  const builds = baseline ? { baseline: resolve(baseline), this: DIST } : { this: DIST };
  const dir = workDir('meta');
  const local = join(dir, 'tree');
  const bytes = makeJpegs(local, n);
  const server = await startServer();
  const probe = cpuProbe(dir);
  /** Per build and mode: wall, CPU, main-thread CPU, the test server's CPU, requests per file. */
  const stats = {};
  for (const b of Object.keys(builds))
    stats[b] = Object.fromEntries(MODES.map((m) => [m, { wall: [], cpu: [], main: [], server: [], requests: 0 }]));
  try {
    for (let round = 0; round < rounds; round++) {
      const order = Object.keys(builds);
      if (round % 2 === 1) order.reverse();
      for (const [k, build] of order.entries()) {
        for (const mode of (round + k) % 2 === 0 ? MODES : [...MODES].reverse()) {
          const runDir = join(dir, `${build}-${mode}-${round}`);
          mkdirSync(runDir, { recursive: true });
          const config = writeConfig(runDir, server, local, {});
          // Each run mirrors into a folder of its own, from a fresh state: every file is a first upload.
          const text = readFileSync(config, 'utf8').replace(
            '    remote: Bench',
            `    remote: Bench-${build}-${mode}-${round}\n    embeddedMetadata: ${mode === 'on'}`,
          );
          writeFileSync(config, text);
          await server.resetCounters();
          const cpuOut = join(runDir, 'cpu');
          const serverBefore = cpuOf(server.pid);
          const started = performance.now();
          const r = await once(join(builds[build], 'cli', 'main.js'), config, { NODE_OPTIONS: `--import ${probe}`, BENCH_CPU_OUT: cpuOut });
          const s = stats[build][mode];
          s.wall.push((performance.now() - started) / 1000);
          if (r.code !== 0) throw new Error(`once (${build}, ${mode}) exited ${r.code}: ${r.out.slice(-2000)}`);
          s.server.push(cpuOf(server.pid) - serverBefore);
          const used = JSON.parse(readFileSync(cpuOut, 'utf8'));
          s.cpu.push(used.cpu);
          if (used.main !== null) s.main.push(used.main);
          s.requests = (await server.counters()).requests / n;
        }
      }
    }
    const tagged = await taggedShare(server, `Bench-this-on-0`, n);
    const list = (xs) => xs.map((x) => x.toFixed(1)).join(', ');
    const tag = `7 first sync ${n} JPEGs with XMP (${Math.round(bytes / n / 1024)} KB mean), loopback, ${rounds} rounds`;
    const rows = [];
    for (const build of Object.keys(builds)) {
      const st = stats[build];
      const name = baseline ? (build === 'this' ? ' (this build)' : ` (${baseline})`) : '';
      for (const mode of MODES) {
        const s = st[mode];
        rows.push({
          bench: tag,
          figure: `embeddedMetadata: ${mode === 'on'}${name}`,
          value: n / median(s.wall),
          unit: 'files/s',
          ratio:
            `wall ${list(s.wall)} s, CPU ${list(s.cpu)} s` +
            (s.main.length ? `, main thread ${list(s.main)} s` : '') +
            `, server ${list(s.server)} s; ${s.requests.toFixed(2)} req/file` +
            (mode === 'on' && build === 'this' ? `; ${tagged} of ${n} assets tagged` : ''),
        });
      }
      const ratio = median(st.on.wall) / median(st.off.wall);
      rows.push({
        bench: tag,
        figure: `wall time on ÷ off (medians)${name}`,
        value: ratio,
        unit: '×',
        target: '≤ 1.10',
        ok: ratio <= 1.1 && (build !== 'this' || tagged === n),
      });
      // What the reading costs the daemon's own CPU: the time above also holds the server's work.
      rows.push({
        bench: tag,
        figure: `CPU of \`once\` on ÷ off (medians)${name}`,
        value: median(st.on.cpu) / median(st.off.cpu),
        unit: '×',
      });
      if (st.on.main.length && st.off.main.length)
        rows.push({
          bench: tag,
          figure: `main-thread CPU of \`once\` on ÷ off (medians)${name}`,
          value: median(st.on.main) / median(st.off.main),
          unit: '×',
        });
      // The machine's two cores are shared by `once` and the test server: wall time follows the sum.
      rows.push({
        bench: tag,
        figure: `CPU of \`once\` + server on ÷ off (medians)${name}`,
        value: median(st.on.cpu.map((c, i) => c + st.on.server[i])) / median(st.off.cpu.map((c, i) => c + st.off.server[i])),
        unit: '×',
      });
    }
    if (baseline) {
      // The builds side by side: what this build's reading costs against the baseline's, same rounds.
      for (const mode of MODES) {
        const [b, t] = [stats.baseline[mode], stats.this[mode]];
        rows.push({
          bench: tag,
          figure: `${mode}: CPU of \`once\` this ÷ baseline (medians)`,
          value: median(t.cpu) / median(b.cpu),
          unit: '×',
        });
        if (t.main.length && b.main.length)
          rows.push({
            bench: tag,
            figure: `${mode}: main-thread CPU this ÷ baseline (medians)`,
            value: median(t.main) / median(b.main),
            unit: '×',
          });
      }
    }
    return rows;
  } finally {
    await server.stop();
    rmDir(dir);
  }
}

function once(cli, config, env) {
  const child = track(
    spawn(process.execPath, [...nodeArgsFromEnv(), cli, 'once', '--config', config], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((r) => child.once('exit', (code) => r({ code, out })));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Assets of the first "on" run whose tags carry their file's own keyword: proof the metadata went through. */
async function taggedShare(server, folderName, n) {
  const ins = await server.inspect();
  const folder = ins.folders.find((f) => f.folderName === folderName);
  const inFolder = new Set(ins.folders.filter((f) => f.id === folder?.id || f.parentId === folder?.id).map((f) => f.id));
  // The tree is flat below the mapping folder's children; walk down to every folder of the run.
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of ins.folders)
      if (!inFolder.has(f.id) && inFolder.has(f.parentId)) {
        inFolder.add(f.id);
        grew = true;
      }
  }
  return Math.min(n, ins.assets.filter((a) => inFolder.has(a.parentId) && a.tags.some((t) => t.startsWith('shot-'))).length);
}

/** n JPEGs in 20 folders: an XMP APP1 segment (Lightroom-like), then scan data to 50–500 KB. */
export function makeJpegs(root, n) {
  const rand = rng(17);
  // Entropy-coded data stands in for the picture; no 0xFF in it, so no marker appears.
  const noise = randomBytes(500 * 1024);
  for (let k = 0; k < noise.length; k++) if (noise[k] === 0xff) noise[k] = 0xfe;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const rel = `set-${i % 20}/IMG_${String(i).padStart(5, '0')}.jpg`;
    const size = 50 * 1024 + Math.floor(rand() * 450 * 1024);
    const file = jpeg(i, size, noise);
    total += file.length;
    const abs = join(root, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, file);
  }
  return total;
}

function jpeg(i, size, noise) {
  const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  const oneCode = (cls) => Buffer.from([cls, 1, ...new Array(15).fill(0), 0]);
  const keywords = [`shot-${i}`, 'summer', 'campaign', `set-${i % 20}`, 'approved'];
  const packet =
    `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
    `<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'>` +
    `<dc:subject><rdf:Bag>${keywords.map((k) => `<rdf:li>${k}</rdf:li>`).join('')}</rdf:Bag></dc:subject>` +
    `<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Shot ${i}</rdf:li></rdf:Alt></dc:title>` +
    `<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>` +
    `<dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights>` +
    `</rdf:Description></rdf:RDF></x:xmpmeta>${' '.repeat(2048)}<?xpacket end='w'?>`;
  const head = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet, 'utf8')])),
    seg(0xdb, Buffer.from([0, ...new Array(64).fill(1)])),
    seg(0xc0, Buffer.from([8, 0, 1, 0, 1, 1, 1, 0x11, 0])),
    seg(0xc4, oneCode(0x00)),
    seg(0xc4, oneCode(0x10)),
    seg(0xda, Buffer.from([1, 1, 0, 0, 63, 0])),
  ]);
  // The packet (shot-i) makes each file's content its own.
  return Buffer.concat([head, noise.subarray(0, Math.max(1, size - head.length - 2)), Buffer.from([0xff, 0xd9])]);
}

await mainIf(import.meta, run);
