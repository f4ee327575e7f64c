import exifr from 'exifr';
import { readFileSync } from 'node:fs';
const pk = `<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:e='http://purl.org/dc/elements/1.1/' ><e:subject><rdf:Bag><rdf:li>a &amp; b</rdf:li><rdf:li>c</rdf:li></rdf:Bag></e:subject></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>`;
const app1 = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(pk)]);
const jpg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, (app1.length + 2) >> 8, (app1.length + 2) & 0xff]), app1, readFileSync('test/fixtures/metadata/iptc.jpg').subarray(2)]);
const O = { tiff: false, ifd1: false, exif: false, gps: false, interop: false, jfif: false, ihdr: false, icc: false, iptc: true, mergeOutput: false, translateValues: false, reviveValues: false };
console.log(JSON.stringify(await exifr.parse(jpg, { ...O, xmp: true })));
console.log(JSON.stringify(await exifr.parse(jpg, { ...O, xmp: { parse: false } })).slice(0, 200));
