import exifr from 'exifr';
import { readFileSync } from 'node:fs';
const opts = { tiff: false, ifd1: false, exif: false, gps: false, interop: false, jfif: false, ihdr: false, icc: false, iptc: true, xmp: true, mergeOutput: false, translateValues: false, reviveValues: false };
for (const f of ['xmp.png','xmp.tif','iptc.jpg']) console.log(f, JSON.stringify(await exifr.parse(readFileSync('test/fixtures/metadata/'+f), opts)));
const i=5;
const keywords = [`shot-${i}`, 'summer', 'campaign', `set-${i % 20}`, 'approved'];
const packet =
    `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
    `<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'>` +
    `<dc:subject><rdf:Bag>${keywords.map((k) => `<rdf:li>${k}</rdf:li>`).join('')}</rdf:Bag></dc:subject>` +
    `<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Shot ${i}</rdf:li></rdf:Alt></dc:title>` +
    `<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>` +
    `<dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights>` +
    `</rdf:Description></rdf:RDF></x:xmpmeta>${' '.repeat(2048)}<?xpacket end='w'?>`;
const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
const jpg = Buffer.concat([Buffer.from([0xff,0xd8]), seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0','latin1'), Buffer.from(packet)])), readFileSync('test/fixtures/metadata/iptc.jpg').subarray(2, 200)]);
console.log(JSON.stringify(await exifr.parse(jpg, opts)));
let t = performance.now();
for (let k = 0; k < 2000; k++) await exifr.parse(jpg, opts);
console.log('exifr with xmp parse per call ms', ((performance.now() - t) / 2000).toFixed(3));
