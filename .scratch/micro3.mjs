import { XMLParser } from 'fast-xml-parser';
const i=5;
const keywords = [`shot-${i}`, 'summer', 'campaign', `set-${i % 20}`, 'approved'];
const packet =
    `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
    `<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'>` +
    `<dc:subject><rdf:Bag>${keywords.map((k) => `<rdf:li>${k}</rdf:li>`).join('')}</rdf:Bag></dc:subject>` +
    `<dc:title><rdf:Alt><rdf:li xml:lang='x-default'>Shot ${i}</rdf:li></rdf:Alt></dc:title>` +
    `<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>` +
    `<dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights>` +
    `</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>`;
const base = { ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, parseAttributeValue: false, ignoreDeclaration: true, ignorePiTags: true };
const variants = {
  base,
  arr: { ...base, isArray: (_n, _p, _l, a) => !a },
  noEnt: { ...base, processEntities: false },
  order: { ...base, preserveOrder: true },
  noTrim: { ...base, trimValues: false },
  all: { ...base, processEntities: false, preserveOrder: true },
};
for (const [k, v] of Object.entries(variants)) {
  const p = new XMLParser(v);
  for (let n = 0; n < 300; n++) p.parse(packet);
  const t = performance.now();
  for (let n = 0; n < 3000; n++) p.parse(packet);
  console.log(k, ((performance.now() - t) / 3000).toFixed(3));
}
