// Issue 17: the CPU of reading keywords and credits alone, as a fresh `once` pays
// it: each run is a new process that loads the metadata module and reads the
// heads of BENCH_META_FILES (2,000) JPEGs like those of benchmark 7 (an XMP
// packet as Lightroom writes it), module loading and first-call warm-up included.
// This build and another (BENCH_BASELINE=/path/to/other/dist) alternate
// BENCH_ROUNDS (5) times; prints the median ms of CPU per run.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, envInt, mainIf } from './lib.mjs';

const CHILD = `
const [dist, n] = [process.argv[1], Number(process.argv[2])];
const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
const oneCode = (cls) => Buffer.from([cls, 1, ...new Array(15).fill(0), 0]);
const heads = [];
for (let i = 0; i < n; i++) {
  const keywords = ['shot-' + i, 'summer', 'campaign', 'set-' + (i % 20), 'approved'];
  const packet = "<?xpacket begin='\\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>" +
    "<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'>" +
    '<dc:subject><rdf:Bag>' + keywords.map((k) => '<rdf:li>' + k + '</rdf:li>').join('') + '</rdf:Bag></dc:subject>' +
    "<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Shot " + i + '</rdf:li></rdf:Alt></dc:title>' +
    '<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>' +
    "<dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights>" +
    '</rdf:Description></rdf:RDF></x:xmpmeta>' + ' '.repeat(2048) + "<?xpacket end='w'?>";
  heads.push(Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\\0', 'latin1'), Buffer.from(packet, 'utf8')])),
    seg(0xdb, Buffer.from([0, ...new Array(64).fill(1)])), seg(0xc0, Buffer.from([8, 0, 1, 0, 1, 1, 1, 0x11, 0])),
    seg(0xc4, oneCode(0x00)), seg(0xc4, oneCode(0x10)), seg(0xda, Buffer.from([1, 1, 0, 0, 63, 0])), Buffer.alloc(8192, 0x11),
  ]));
}
const c0 = process.cpuUsage();
const { MetadataSniffer } = await import(dist);
let tagged = 0;
for (let i = 0; i < n; i++) {
  const s = new MetadataSniffer('IMG_' + i + '.jpg', heads[i].length);
  s.feed(heads[i], 0);
  if ((s.resultNow?.() ?? (await s.result())).keywords?.[0] === 'shot-' + i) tagged++;
}
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ ms: (c.user + c.system) / 1000, tagged }));
`;

export async function run() {
  const baseline = process.env.BENCH_BASELINE;
  if (!baseline) throw new Error('BENCH_BASELINE=/path/to/other/dist is required: this benchmark compares two builds.');
  const n = envInt('BENCH_META_FILES', 2000);
  const rounds = envInt('BENCH_ROUNDS', 5);
  const builds = { baseline: resolve(baseline), this: DIST };
  const ms = { baseline: [], this: [] };
  for (let round = 0; round < rounds; round++) {
    for (const build of round % 2 === 0 ? ['baseline', 'this'] : ['this', 'baseline']) {
      const url = pathToFileURL(join(builds[build], 'metadata', 'index.js')).href;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, url, String(n)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`reader (${build}) exited ${r.status}: ${r.stderr}`);
      const out = JSON.parse(r.stdout);
      if (out.tagged !== n) throw new Error(`reader (${build}) found the keywords of ${out.tagged} of ${n} files`);
      ms[build].push(out.ms);
    }
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const tag = `7 reading metadata alone, ${n} JPEG heads with XMP, fresh process each, ${rounds} rounds`;
  return [
    {
      bench: tag,
      figure: `CPU (${baseline})`,
      value: med(ms.baseline),
      unit: 'ms',
      ratio: ms.baseline.map((x) => x.toFixed(0)).join(', '),
    },
    { bench: tag, figure: 'CPU (this build)', value: med(ms.this), unit: 'ms', ratio: ms.this.map((x) => x.toFixed(0)).join(', ') },
    { bench: tag, figure: 'this ÷ baseline', value: med(ms.this) / med(ms.baseline), unit: '×' },
  ];
}

await mainIf(import.meta, run);
