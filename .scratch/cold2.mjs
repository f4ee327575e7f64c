import { MetadataSniffer } from '../dist/metadata/index.js';
import { readFileSync } from 'node:fs';
const buf = readFileSync('test/fixtures/metadata/xmp.png');
const jpg = readFileSync('test/fixtures/metadata/iptc.jpg');
let t = performance.now();
{ const s = new MetadataSniffer('a.jpg', jpg.length); s.feed(jpg, 0); await s.result(); }
console.log('first jpeg (loads exifr)', (performance.now() - t).toFixed(0));
t = performance.now();
{ const s = new MetadataSniffer('a.png', buf.length); s.feed(buf, 0); await s.result(); }
console.log('first png with xmp (loads fxp)', (performance.now() - t).toFixed(0));
for (const n of [10, 100, 1000]) {
  t = performance.now();
  for (let i = 0; i < n; i++) { const s = new MetadataSniffer('a.png', buf.length); s.feed(buf, 0); await s.result(); }
  console.log(n, 'more: per file ms', ((performance.now() - t) / n).toFixed(3));
}
