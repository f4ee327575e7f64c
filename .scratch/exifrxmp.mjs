import exifr from 'exifr';
import { readFileSync } from 'node:fs';
const opts = { tiff: false, ifd1: false, exif: false, gps: false, interop: false, jfif: false, ihdr: false, icc: false, iptc: true, xmp: true, mergeOutput: false, translateValues: false, reviveValues: false };
const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
const pk = (inner) => `<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:pdf='http://ns.adobe.com/pdf/1.3/'>${inner}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>`;
const j = (p) => Buffer.concat([Buffer.from([0xff, 0xd8]), seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(p)])), Buffer.from([0xff, 0xda])]);
for (const inner of [
  `<dc:subject><rdf:Bag><rdf:li>a &amp; b</rdf:li></rdf:Bag></dc:subject><dc:title><rdf:Alt><rdf:li xml:lang='de'>Titel</rdf:li><rdf:li xml:lang='x-default'>Title</rdf:li></rdf:Alt></dc:title>`,
  `<dc:creator><rdf:Seq><rdf:li>A</rdf:li><rdf:li>B</rdf:li></rdf:Seq></dc:creator><dc:description>plain</dc:description>`,
  `<dc:subject><rdf:Bag><rdf:li>only</rdf:li></rdf:Bag></dc:subject>`,
]) console.log(JSON.stringify(await exifr.parse(j(pk(inner)), opts)));
const attr = `<?xpacket begin=''?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:pdf='http://ns.adobe.com/pdf/1.3/' pdf:Keywords='k1, k2' xmlns:dc='http://purl.org/dc/elements/1.1/' dc:format='image/jpeg'/></rdf:RDF></x:xmpmeta>`;
console.log(JSON.stringify(await exifr.parse(j(attr), opts)));
for (const f of ['xmp.png', 'xmp.tif']) console.log(f, JSON.stringify(await exifr.parse(readFileSync('test/fixtures/metadata/' + f), opts)));
