import { MetadataSniffer } from '../dist/metadata/index.js';
import { readFileSync } from 'node:fs';
const packet = (subjects, extra = '') =>
  `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
  `<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' ${extra}><dc:subject><rdf:Bag>${subjects.map((s) => `<rdf:li>${s}</rdf:li>`).join('')}</rdf:Bag></dc:subject></rdf:Description>` +
  `</rdf:RDF></x:xmpmeta><?xpacket end='w'?>`;
const xmp = packet(['a &amp; b', 'c']).replaceAll('dc:', 'e:');
console.log(xmp);
const app1 = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(xmp)]);
const len = Buffer.from([(app1.length + 2) >> 8, (app1.length + 2) & 0xff]);
const jpg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), len, app1, readFileSync('test/fixtures/metadata/iptc.jpg').subarray(2)]);
const s = new MetadataSniffer('odd.jpg', jpg.length);
for (let at = 0; at < jpg.length; at += 64) s.feed(jpg.subarray(at, at + 64), at);
console.log(await s.result());
