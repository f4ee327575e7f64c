const which = process.argv[2];
const i0 = 5;
const mk = (i) => `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'><dc:subject><rdf:Bag><rdf:li>shot-${i}</rdf:li><rdf:li>summer</rdf:li><rdf:li>campaign</rdf:li></rdf:Bag></dc:subject><dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Shot ${i}</rdf:li></rdf:Alt></dc:title><dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator><dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>${' '.repeat(2048)}<?xpacket end='w'?>`;
const packets = Array.from({ length: 2000 }, (_, i) => mk(i));
const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
const heads = packets.map((p) => Buffer.concat([Buffer.from([0xff, 0xd8]), seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(p)])), Buffer.from([0xff, 0xda])]));
let c = process.cpuUsage();
if (which === 'xmp') {
  const { parseXmp } = await import('../dist/metadata/xmp.js');
  for (const p of packets) parseXmp(p);
} else if (which === 'fxp') {
  const { XMLParser } = await import('fast-xml-parser');
  const x = new XMLParser({ preserveOrder: true, processEntities: false, ignoreAttributes: false, attributeNamePrefix: '' });
  for (const p of packets) x.parse(p.slice(0, p.lastIndexOf(':xmpmeta>') + 9));
} else {
  const exifr = (await import('exifr')).default;
  const opts = { tiff: false, ifd1: false, exif: false, gps: false, interop: false, jfif: false, ihdr: false, icc: false, iptc: true, xmp: { parse: false }, mergeOutput: false, translateValues: false, reviveValues: false };
  for (const h of heads) await exifr.parse(h, opts);
}
const u = process.cpuUsage(c);
console.log(which, 'cold 2000 cpu ms', ((u.user + u.system) / 1000).toFixed(0));
if (which === 'exifr-xmp') {
  const exifr = (await import('exifr')).default;
  const opts = { tiff: false, ifd1: false, exif: false, gps: false, interop: false, jfif: false, ihdr: false, icc: false, iptc: true, xmp: true, mergeOutput: false, translateValues: false, reviveValues: false };
  let c2 = process.cpuUsage();
  let out;
  for (const h of heads) out = await exifr.parse(h, opts);
  const u2 = process.cpuUsage(c2);
  console.log(JSON.stringify(out));
  console.log('exifr+xmp cold 2000 cpu ms', ((u2.user + u2.system) / 1000).toFixed(0));
}
