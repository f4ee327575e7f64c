import { MetadataSniffer } from '../dist/metadata/index.js';
import { randomBytes } from 'node:crypto';
const noise = randomBytes(500 * 1024); for (let k = 0; k < noise.length; k++) if (noise[k] === 0xff) noise[k] = 0xfe;
function jpeg(i, size) {
  const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  const oneCode = (cls) => Buffer.from([cls, 1, ...new Array(15).fill(0), 0]);
  const keywords = [`shot-${i}`, 'summer', 'campaign', `set-${i % 20}`, 'approved'];
  const packet = `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'><dc:subject><rdf:Bag>${keywords.map((k) => `<rdf:li>${k}</rdf:li>`).join('')}</rdf:Bag></dc:subject><dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Shot ${i}</rdf:li></rdf:Alt></dc:title><dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator><dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>${' '.repeat(2048)}<?xpacket end='w'?>`;
  const head = Buffer.concat([Buffer.from([0xff, 0xd8]), seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet, 'utf8')])), seg(0xdb, Buffer.from([0, ...new Array(64).fill(1)])), seg(0xc0, Buffer.from([8, 0, 1, 0, 1, 1, 1, 0x11, 0])), seg(0xc4, oneCode(0x00)), seg(0xc4, oneCode(0x10)), seg(0xda, Buffer.from([1, 1, 0, 0, 63, 0]))]);
  return Buffer.concat([head, noise.subarray(0, size - head.length - 2), Buffer.from([0xff, 0xd9])]);
}
const files = Array.from({ length: 2000 }, (_, i) => jpeg(i, 60000 + (i % 10) * 40000));
const run = async () => { for (let i = 0; i < files.length; i++) { const s = new MetadataSniffer('a.jpg', files[i].length); s.feed(files[i], 0); await s.result(); } };
const w0 = performance.now(); const cc = process.cpuUsage(); await run(); const cu = process.cpuUsage(cc); console.log("cold: wall", (performance.now()-w0).toFixed(0), "cpu", ((cu.user+cu.system)/1000).toFixed(0));
const c0 = process.cpuUsage(); const t0 = performance.now();
await run();
const c = process.cpuUsage(c0);
console.log('2000 files: wall ms', (performance.now() - t0).toFixed(0), 'cpu ms', ((c.user + c.system) / 1000).toFixed(0));
