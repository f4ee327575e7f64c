import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetadataSniffer, readXmp, SCAN_HEAD_BYTES, SCAN_TAIL_BYTES, EXIFR_HEAD_BYTES, type ReadAt } from '../../src/metadata/index.js';

const FX = join(import.meta.dirname, '../fixtures/metadata');
const fixture = (name: string): Buffer => readFileSync(join(FX, name));

/** Feeds the bytes as a read pass would, in pieces of `piece` bytes. */
async function sniff(name: string, bytes: Buffer, piece = bytes.length, file?: ReadAt) {
  const s = new MetadataSniffer(name, bytes.length);
  for (let at = 0; at < bytes.length; at += piece) s.feed(bytes.subarray(at, at + piece), at);
  return s.result(file);
}

/** A descriptor stand-in that serves `bytes` and counts what is read through it. */
function counting(bytes: Buffer): ReadAt & { read: ReadAt['read']; bytesRead: number } {
  const f = {
    bytesRead: 0,
    async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
      const n = bytes.copy(buf, offset, position, Math.min(bytes.length, position + length));
      f.bytesRead += n;
      return n;
    },
  };
  return f;
}

const packet = (subjects: string[], extra = ''): string =>
  `<?xpacket begin='\ufeff' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>` +
  `<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/' ${extra}><dc:subject><rdf:Bag>${subjects.map((s) => `<rdf:li>${s}</rdf:li>`).join('')}</rdf:Bag></dc:subject></rdf:Description>` +
  `</rdf:RDF></x:xmpmeta><?xpacket end='w'?>`;

describe('keywords and credits from each kind of file', () => {
  it('JPEG with IPTC: keywords (UTF-8 kept), object name, caption, by-line, copyright', async () => {
    // Fed one byte at a time: markers and segments straddle every boundary.
    expect(await sniff('iptc.jpg', fixture('iptc.jpg'), 1)).toEqual({
      keywords: ['summer', 'beach', 'Café terrace'],
      title: 'Summer hero',
      description: 'Hero image of the summer campaign',
      creator: 'Jane Doe',
      copyright: '© 2026 Atlas Design',
    });
  });

  it('PNG and TIFF with XMP dc:subject, title (x-default), creators joined, rights', async () => {
    const expected = {
      title: 'Logo, dark',
      description: 'The logo on a dark background',
      creator: 'Ann Smith, Bob Jones',
      copyright: 'CC BY 4.0',
    };
    expect(await sniff('xmp.png', fixture('xmp.png'), 7)).toEqual({ keywords: ['logo', 'dark'], ...expected });
    expect(await sniff('Scan.TIF', fixture('xmp.tif'), 13)).toEqual({ keywords: ['logo', 'print'], ...expected });
  });

  it('PSD: the XMP packet among the image resources', async () => {
    expect(await sniff('layers.psd', fixture('layers.psd'), 5)).toEqual({
      keywords: ['poster', 'draft'],
      title: 'Poster draft',
      creator: 'Jane Doe',
      copyright: '© 2026 Atlas Design',
    });
  });

  it('JPEG whose XMP declares Dublin Core under another prefix, with escaped text', async () => {
    const xmp = packet(['a &amp; b', 'c']).replaceAll('dc:', 'e:').replace('xmlns:dc=', 'xmlns:e=');
    const app1 = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(xmp)]);
    const len = Buffer.from([(app1.length + 2) >> 8, (app1.length + 2) & 0xff]);
    const jpg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1]), len, app1, fixture('iptc.jpg').subarray(2)]);
    // The XMP wins over the IPTC of the same file where both say something.
    expect((await sniff('odd.jpg', jpg, 64)).keywords).toEqual(['a & b', 'c']);
    // The usual prefix: exifr's own XMP reading.
    const usual = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet(['a &amp; b', 'c']))]);
    const plain = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe1, (usual.length + 2) >> 8, (usual.length + 2) & 0xff]),
      usual,
      fixture('iptc.jpg').subarray(2),
    ]);
    expect((await sniff('plain.jpg', plain)).keywords).toEqual(['a & b', 'c']);
  });

  it('a sidecar is XMP text; a raw format is not read', async () => {
    expect(await readXmp(fixture('shoot.xmp').toString('utf8'))).toEqual({
      keywords: ['studio', 'portrait'],
      title: 'Studio portrait',
      creator: 'Sam Lee',
      copyright: '© 2026 Sam Lee',
    });
    expect(new MetadataSniffer('shoot.cr2', 10).wanted).toBe(false);
    expect(await sniff('shoot.cr2', fixture('shoot.cr2'))).toEqual({});
  });

  it('SVG with plain RDF in <metadata> (no XMP wrapper), as Inkscape writes it', async () => {
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cc="http://creativecommons.org/ns#" xmlns:dc="http://purl.org/dc/elements/1.1/"><metadata>` +
      `<rdf:RDF><cc:Work rdf:about=""><dc:title>Icon set</dc:title><dc:subject><rdf:Bag><rdf:li>icons</rdf:li><rdf:li>ui</rdf:li></rdf:Bag></dc:subject></cc:Work></rdf:RDF></metadata><rect/></svg>`;
    expect(await sniff('icons.svg', Buffer.from(svg), 3)).toEqual({ keywords: ['icons', 'ui'], title: 'Icon set' });
  });
});

describe('the XMP reader', () => {
  it('matches namespaces by URI, reads attribute-form values, prefers x-default and skips nested structures', async () => {
    const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><r:RDF xmlns:r="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <r:Description xmlns:e="http://purl.org/dc/elements/1.1/" xmlns:h="http://ns.example/h/" e:description="Said as an attribute">
        <e:title><r:Alt><r:li xml:lang="de">Titel</r:li><r:li xml:lang="x-default">Title</r:li></r:Alt></e:title>
        <e:subject><r:Bag><r:li>a &amp; b</r:li><r:li> spaced </r:li></r:Bag></e:subject>
        <h:History><r:Seq><r:li r:parseType="Resource"><e:title>Not the file's</e:title></r:li></r:Seq></h:History>
      </r:Description></r:RDF></x:xmpmeta>`;
    expect(await readXmp(xmp)).toEqual({ keywords: ['a & b', 'spaced'], title: 'Title', description: 'Said as an attribute' });
  });

  it('takes pdf:Keywords when there is no dc:subject, and refuses a DTD', async () => {
    const pdf = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:pdf="http://ns.adobe.com/pdf/1.3/" pdf:Keywords="annual; report, 2026"/></rdf:RDF></x:xmpmeta>`;
    expect((await readXmp(pdf)).keywords).toEqual(['annual', 'report', '2026']);
    const bomb = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>${packet(['&a;'])}`;
    expect(await readXmp(bomb)).toEqual({});
    expect(await readXmp('<x:xmpmeta><broken')).toEqual({});
  });
});

describe('bounded reads, in the pass that reads the file anyway', () => {
  it('a PDF: the document-level packet wins over a placed image’s, found in the head or in the tail', async () => {
    const image = packet(['from-a-placed-image']);
    const doc = packet(['annual-report'], `xmlns:pdf='http://ns.adobe.com/pdf/1.3/' pdf:Producer='Acrobat'`);
    const filler = (n: number): Buffer => Buffer.alloc(n, 0x20);
    const small = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.from(image), filler(5000), Buffer.from(doc), Buffer.from('%%EOF')]);
    expect((await sniff('report.pdf', small, 4096)).keywords).toEqual(['annual-report']);
    // An incremental save appends a newer document packet at the end of a big file.
    const big = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      Buffer.from(doc),
      filler(SCAN_HEAD_BYTES + 1024),
      Buffer.from(doc.replace('annual-report', 'revised')),
      Buffer.from('%%EOF'),
    ]);
    expect((await sniff('report.pdf', big, 1024 * 1024)).keywords).toEqual(['revised']);
  });

  it('reads nothing itself when the pass showed every byte; reads only head and tail when it did not', async () => {
    const psd = fixture('layers.psd');
    const whole = counting(psd);
    expect((await sniff('layers.psd', psd, 100, whole)).keywords).toEqual(['poster', 'draft']);
    expect(whole.bytesRead).toBe(0);

    // A big file whose pass started mid-way (a resumed upload): the head and the tail, never all of it.
    const size = SCAN_HEAD_BYTES + SCAN_TAIL_BYTES + 8 * 1024 * 1024;
    const big = Buffer.alloc(size, 0x20);
    psd.copy(big, 0);
    const file = counting(big);
    const s = new MetadataSniffer('poster.psd', size);
    s.feed(big.subarray(5 * 1024 * 1024, 6 * 1024 * 1024), 5 * 1024 * 1024);
    expect((await s.result(file)).keywords).toEqual(['poster', 'draft']);
    expect(file.bytesRead).toBe(SCAN_HEAD_BYTES + SCAN_TAIL_BYTES);

    // A JPEG needs its head only.
    const jpeg = Buffer.concat([fixture('iptc.jpg'), Buffer.alloc(3 * 1024 * 1024)]);
    const jf = counting(jpeg);
    expect((await new MetadataSniffer('iptc.jpg', jpeg.length).result(jf)).keywords).toContain('summer');
    expect(jf.bytesRead).toBe(EXIFR_HEAD_BYTES);
  });

  it('a truncated or mislabelled file says nothing and never throws', async () => {
    const jpg = fixture('iptc.jpg');
    expect(await sniff('cut.jpg', jpg.subarray(0, 40))).toEqual({});
    expect(await sniff('text.jpg', Buffer.from('not a jpeg at all'))).toEqual({});
    expect(await sniff('half.psd', Buffer.from(packet(['x']).slice(0, 120)))).toEqual({});
  });
});
