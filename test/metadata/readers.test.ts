import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { metadataBlocks, viaExifr } from '../../src/metadata/exifr.js';
import { readJpeg } from '../../src/metadata/jpeg.js';
import { readXmp } from '../../src/metadata/load.js';
import { parseMiniXml } from '../../src/metadata/minixml.js';
import { fromTree, xmpText } from '../../src/metadata/rdf.js';
import { MetadataSniffer, normalise } from '../../src/metadata/sniff.js';
import { preferFirst, type FileMetadata } from '../../src/metadata/types.js';
import { parseXmp } from '../../src/metadata/xmp.js';

// The small readers (JPEG segments, IPTC datasets, XMP's XML) against what exifr and
// fast-xml-parser make of the same bytes: each must agree wherever it answers at all.

const FX = join(import.meta.dirname, '../fixtures/metadata');
const fixture = (name: string): Buffer => readFileSync(join(FX, name));

const seg = (marker: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
const app1 = (packet: string): Buffer =>
  seg(0xe1, Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet)]));
/** The IPTC fixture's APP13 segment and the image after it. */
const iptcJpeg = fixture('iptc.jpg');
const withSegments = (...segments: Buffer[]): Buffer => Buffer.concat([Buffer.from([0xff, 0xd8]), ...segments, iptcJpeg.subarray(2)]);
/** What follows the fixture's APP13: its tables, its image data. */
const imageOf = (jpg: Buffer): Buffer => jpg.subarray(4 + jpg.readUInt16BE(4));

const lightroom = (i: number, extra = ''): string =>
  `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
  `<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Adobe Lightroom'${extra}>` +
  `<dc:subject><rdf:Bag><rdf:li>shot-${i}</rdf:li><rdf:li>summer &amp; sun</rdf:li><rdf:li>Café</rdf:li></rdf:Bag></dc:subject>` +
  `<dc:title><rdf:Alt><rdf:li xml:lang='de'>Aufnahme</rdf:li><rdf:li xml:lang='x-default'>Shot ${i}</rdf:li></rdf:Alt></dc:title>` +
  `<dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li><rdf:li>Sam Lee</rdf:li></rdf:Seq></dc:creator>` +
  `<dc:rights><rdf:Alt><rdf:li xml:lang='x-default'>© 2026 Atlas Design</rdf:li></rdf:Alt></dc:rights>` +
  `</rdf:Description></rdf:RDF></x:xmpmeta>${' '.repeat(2048)}<?xpacket end='w'?>`;

/** The packets the fixtures carry, cut out as the packet scanner would. */
function fixturePackets(): Array<[string, string]> {
  return ['layers.psd', 'xmp.png', 'xmp.tif', 'shoot.xmp'].map((name) => {
    const text = fixture(name).toString('latin1');
    const from = text.indexOf('<x:xmpmeta');
    const to = text.indexOf('</x:xmpmeta>') + '</x:xmpmeta>'.length;
    return [name, Buffer.from(text.slice(from, to), 'latin1').toString('utf8')];
  });
}

/** What exifr made of a JPEG's head before: the old path, whole. */
async function byExifr(head: Buffer): Promise<FileMetadata> {
  const blocks = metadataBlocks(head);
  if (!blocks) return {};
  const found = await viaExifr(blocks);
  return normalise(preferFirst(found.xmp, found.iptc));
}

async function byReader(head: Buffer): Promise<FileMetadata | null> {
  const found = readJpeg(head);
  if (!found) return null;
  return normalise(preferFirst(found.xmp === undefined ? undefined : await readXmp(found.xmp), found.iptc));
}

describe('reading a JPEG without exifr', () => {
  const resource = (id: number, name: string, data: Buffer): Buffer => {
    const pascal = Buffer.concat([Buffer.from([name.length]), Buffer.from(name, 'latin1')]);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(data.length);
    return Buffer.concat([
      Buffer.from('8BIM'),
      Buffer.from([id >> 8, id & 0xff]),
      pascal,
      Buffer.alloc(pascal.length % 2),
      size,
      data,
      Buffer.alloc(data.length % 2),
    ]);
  };
  const dataset = (record: number, id: number, value: Buffer | string): Buffer => {
    const bytes = Buffer.from(value);
    return Buffer.concat([Buffer.from([0x1c, record, id, bytes.length >> 8, bytes.length & 0xff]), bytes]);
  };
  const app13 = (...resources: Buffer[]): Buffer => seg(0xed, Buffer.concat([Buffer.from('Photoshop 3.0\0', 'latin1'), ...resources]));

  const cases: Array<[string, Buffer]> = [
    ['the IPTC fixture', iptcJpeg],
    ['an XMP packet as Lightroom writes it', withSegments(app1(lightroom(1)))],
    ['XMP and IPTC both (XMP wins field by field)', withSegments(app1(lightroom(2)))],
    [
      'XMP declaring Dublin Core under another prefix',
      withSegments(app1(lightroom(3).replaceAll('dc:', 'e:').replace('xmlns:dc=', 'xmlns:e='))),
    ],
    [
      'XMP with no Dublin Core',
      withSegments(
        app1(
          `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmp:Rating='3' xmlns:xmp='http://ns.adobe.com/xap/1.0/'/></rdf:RDF></x:xmpmeta>`,
        ),
      ),
    ],
    [
      'IPTC after other resources, repeated names and Latin-1 text',
      Buffer.concat([
        Buffer.from([0xff, 0xd8]),
        app13(
          resource(0x03ed, '', Buffer.alloc(16, 1)),
          resource(
            0x0404,
            '',
            Buffer.concat([
              dataset(1, 90, '\x1b%G'),
              dataset(2, 25, 'one'),
              dataset(2, 25, 'two'),
              dataset(2, 80, 'Ann'),
              dataset(2, 80, 'Bob'),
              dataset(2, 105, 'A headline'),
              dataset(2, 116, Buffer.from([0xc9, 0x74, 0xe9])),
            ]),
          ),
        ),
        imageOf(iptcJpeg),
      ]),
    ],
  ];

  it.each(cases)('%s: the same answer as exifr', async (_name, jpg) => {
    const mine = await byReader(jpg);
    expect(mine).not.toBeNull();
    expect(mine).toEqual(await byExifr(jpg));
    expect(Object.keys(mine!).length).toBeGreaterThan(0);
  });

  it('a named IPTC resource is read as the format lays it out (exifr assumes an empty name and reads nothing)', async () => {
    const named = Buffer.concat([
      Buffer.from([0xff, 0xd8]),
      app13(resource(0x0404, 'IPTC', Buffer.concat([dataset(2, 25, 'one'), dataset(2, 5, 'Name')]))),
      imageOf(iptcJpeg),
    ]);
    expect(await byReader(named)).toEqual({ keywords: ['one'], title: 'Name' });
  });

  it('the Lightroom packet and the IPTC fixture say what they say', async () => {
    expect(await byReader(withSegments(app1(lightroom(7))))).toEqual({
      keywords: ['shot-7', 'summer & sun', 'Café'],
      title: 'Shot 7',
      description: 'Hero image of the summer campaign',
      creator: 'Jane Doe, Sam Lee',
      copyright: '© 2026 Atlas Design',
    });
  });

  it('anything odd is left to exifr: a cut segment, an extended dataset, a resource that is not 8BIM, not a JPEG', async () => {
    const cut = iptcJpeg.subarray(0, 40);
    const extended = Buffer.from(iptcJpeg);
    extended[0x32] |= 0x80; // the size of the first record-2 dataset (2:05, at 0x2f)
    const foreign = Buffer.from(iptcJpeg);
    foreign.write('MeSa', 0x14, 'latin1');
    for (const jpg of [cut, extended, foreign, Buffer.from('not a jpeg at all')]) expect(readJpeg(jpg)).toBeNull();
  });
});

describe('reading XMP without fast-xml-parser', () => {
  const packets: Array<[string, string]> = [
    ...fixturePackets(),
    ['Lightroom', lightroom(1)],
    [
      'attribute form, nested history, other prefixes',
      `<x:xmpmeta xmlns:x="adobe:ns:meta/"><r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <r:Description xmlns:e="http://purl.org/dc/elements/1.1/" xmlns:h="http://ns.example/h/" e:description=" Said as an attribute ">
        <e:title><r:Alt><r:li xml:lang="de">Titel</r:li><r:li xml:lang="x-default">Title</r:li></r:Alt></e:title>
        <e:subject><r:Bag><r:li>a &amp; b</r:li><r:li> spaced </r:li><r:li>&#x263A;</r:li></r:Bag></e:subject>
        <h:History><r:Seq><r:li r:parseType="Resource"><e:title>Not the file's</e:title></r:li></r:Seq></h:History>
      </r:Description></r:RDF></x:xmpmeta>`,
    ],
    [
      'pdf:Keywords',
      `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:pdf="http://ns.adobe.com/pdf/1.3/" pdf:Keywords="annual; report, 2026"/></rdf:RDF></x:xmpmeta>`,
    ],
    [
      'bare RDF as an SVG holds it',
      `<rdf:RDF><cc:Work rdf:about=""><dc:title>Icon set</dc:title><dc:subject><rdf:Bag><rdf:li>icons</rdf:li><rdf:li>ui</rdf:li></rdf:Bag></dc:subject></cc:Work></rdf:RDF>`,
    ],
    [
      'text in pieces around elements',
      `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title> Left <b/> right </dc:title></rdf:Description></rdf:RDF></x:xmpmeta>`,
    ],
  ];

  it.each(packets)('%s: the same answer as fast-xml-parser', (_name, packet) => {
    const text = xmpText(packet);
    expect(text).not.toBeNull();
    const tree = parseMiniXml(text!);
    expect(tree).not.toBeNull();
    const mine = fromTree(tree!);
    expect(mine).toEqual(parseXmp(packet));
    expect(Object.keys(mine).length).toBeGreaterThan(0);
  });

  it('declines what it does not read (comments, CDATA, bad nesting) and the full parser answers', async () => {
    const lr = lightroom(5);
    const declined = [
      lr.replace('<dc:subject>', '<!-- keywords --><dc:subject>'),
      lr.replace('<rdf:li>Café</rdf:li>', '<rdf:li><![CDATA[Café]]></rdf:li>'),
      lr.replace('</dc:creator>', '</dc:creators>'),
      lr.replace("xml:lang='x-default'", 'xml:lang=x-default'),
    ];
    for (const packet of declined) {
      expect(parseMiniXml(xmpText(packet)!)).toBeNull();
      expect(await readXmp(packet)).toEqual(parseXmp(packet));
    }
    expect((await readXmp(declined[0])).keywords).toEqual(['shot-5', 'summer & sun', 'Café']);
  });
});

describe('answering without a promise (resultNow)', () => {
  const sniffed = (name: string, bytes: Buffer, upTo = bytes.length): MetadataSniffer => {
    const s = new MetadataSniffer(name, bytes.length);
    s.feed(bytes.subarray(0, upTo), 0);
    return s;
  };

  it('answers as result() does wherever the readers of this module take the file', async () => {
    const files: Array<[string, Buffer]> = [
      ['iptc.jpg', iptcJpeg],
      ['lr.jpg', withSegments(app1(lightroom(3)))],
      ['layers.psd', fixture('layers.psd')],
      ['plain.jpg', withSegments()],
    ];
    for (const [name, bytes] of files) {
      const now = sniffed(name, bytes).resultNow();
      expect(now, name).toBeDefined();
      expect(now).toEqual(await sniffed(name, bytes).result());
    }
    expect(sniffed('lr.jpg', withSegments(app1(lightroom(3)))).resultNow()?.keywords).toEqual(['shot-3', 'summer & sun', 'Café']);
  });

  it('leaves to result() what needs exifr, fast-xml-parser or bytes the pass did not show', async () => {
    const declined = withSegments(app1(lightroom(4).replace('<dc:subject>', '<!-- keywords --><dc:subject>')));
    const psd = fixture('layers.psd');
    for (const [name, s] of [
      ['declined.jpg', sniffed('declined.jpg', declined)],
      ['xmp.png', sniffed('xmp.png', fixture('xmp.png'))],
      ['layers.psd', sniffed('layers.psd', psd, psd.length - 1)],
    ] as const) {
      expect(s.resultNow(), name).toBeUndefined();
    }
    expect((await sniffed('declined.jpg', declined).result()).keywords).toEqual(['shot-4', 'summer & sun', 'Café']);
    expect(new MetadataSniffer('notes.txt', 10).resultNow()).toEqual({});
  });
});
