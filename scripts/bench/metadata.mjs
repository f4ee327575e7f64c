// Benchmark 7: the cost of reading keywords and credits (issue 17).
// A first sync of BENCH_META_FILES (2,000) JPEGs of 50–500 KB, each with an XMP
// packet (keywords, title, creator, rights), with `embeddedMetadata: false` and
// `true`, side by side against one test-server process: rounds alternate the
// order so neither always runs on a warmer machine. Target: on ≤ 1.10 × off
// (median wall time). BENCH_META_FILES, BENCH_META_ROUNDS (default 4).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { envInt, mainIf, rmDir, rng, runCli, startServer, workDir, writeConfig } from './lib.mjs';

/**
 * The machine is shared and noisy: besides wall time, each run reports the CPU
 * seconds of the `once` process itself (all its threads), written at its exit
 * by a module preloaded through NODE_OPTIONS.
 */
function cpuProbe(dir) {
  const probe = join(dir, 'cpu-probe.mjs');
  writeFileSync(
    probe,
    `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { const u = process.cpuUsage(); writeFileSync(process.env.BENCH_CPU_OUT, String((u.user + u.system) / 1e6)); });\n`,
  );
  return probe;
}

export async function run() {
  const n = envInt('BENCH_META_FILES', 2000);
  const rounds = envInt('BENCH_META_ROUNDS', 4);
  const dir = workDir('meta');
  const local = join(dir, 'tree');
  const bytes = makeJpegs(local, n);
  const server = await startServer();
  const seconds = { off: [], on: [] };
  const cpu = { off: [], on: [] };
  const probe = cpuProbe(dir);
  const requests = { off: 0, on: 0 };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
        const runDir = join(dir, `${mode}-${round}`);
        mkdirSync(runDir, { recursive: true });
        const config = writeConfig(runDir, server, local, {});
        // Each run mirrors into a folder of its own, from a fresh state: every file is a first upload.
        const text = readFileSync(config, 'utf8').replace(
          '    remote: Bench',
          `    remote: Bench-${mode}-${round}\n    embeddedMetadata: ${mode === 'on'}`,
        );
        writeFileSync(config, text);
        await server.resetCounters();
        const cpuOut = join(runDir, 'cpu');
        const r = await runCli(['once', '--config', config], { env: { NODE_OPTIONS: `--import ${probe}`, BENCH_CPU_OUT: cpuOut } });
        if (r.code !== 0) throw new Error(`once (${mode}) exited ${r.code}: ${r.out.slice(-2000)}`);
        seconds[mode].push(r.seconds);
        cpu[mode].push(Number(readFileSync(cpuOut, 'utf8')));
        requests[mode] = (await server.counters()).requests / n;
      }
    }
    const tagged = await taggedShare(server, `Bench-on-0`, n);
    const off = median(seconds.off);
    const on = median(seconds.on);
    const ratio = on / off;
    const cpuRatio = median(cpu.on) / median(cpu.off);
    const list = (xs) => xs.map((x) => x.toFixed(1)).join(', ');
    const tag = `7 first sync ${n} JPEGs with XMP (${Math.round(bytes / n / 1024)} KB mean), loopback, ${rounds} rounds`;
    return [
      {
        bench: tag,
        figure: 'embeddedMetadata: false',
        value: n / off,
        unit: 'files/s',
        ratio: `wall ${list(seconds.off)} s, CPU ${list(cpu.off)} s; ${requests.off.toFixed(2)} req/file`,
      },
      {
        bench: tag,
        figure: 'embeddedMetadata: true',
        value: n / on,
        unit: 'files/s',
        ratio: `wall ${list(seconds.on)} s, CPU ${list(cpu.on)} s; ${requests.on.toFixed(2)} req/file; ${tagged} of ${n} assets tagged`,
      },
      { bench: tag, figure: 'wall time on ÷ off (medians)', value: ratio, unit: '×', target: '≤ 1.10', ok: ratio <= 1.1 && tagged === n },
      // What the reading costs the daemon's own CPU: the time above also holds the server's work, the same in both.
      { bench: tag, figure: 'CPU of `once` on ÷ off (medians)', value: cpuRatio, unit: '×' },
    ];
  } finally {
    await server.stop();
    rmDir(dir);
  }
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
function makeJpegs(root, n) {
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
