import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { MetadataSniffer } from '../../src/metadata/index.js';

// A fresh `once` pays for every module it loads and warms: exifr and fast-xml-parser
// must stay unloaded while the files are JPEGs with well-formed XMP and IPTC.
const loaded = vi.hoisted(() => new Set<string>());
vi.mock('exifr', async (original) => {
  loaded.add('exifr');
  return original();
});
vi.mock('fast-xml-parser', async (original) => {
  loaded.add('fast-xml-parser');
  return original();
});

const FX = join(import.meta.dirname, '../fixtures/metadata');

async function sniff(name: string, bytes: Buffer) {
  const s = new MetadataSniffer(name, bytes.length);
  s.feed(bytes, 0);
  return s.result();
}

describe('what reading metadata loads', () => {
  it('a JPEG with XMP and IPTC loads neither exifr nor the XML parser; a PNG and an odd packet load them', async () => {
    const jpg = readFileSync(join(FX, 'iptc.jpg'));
    const packet =
      `<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/'>` +
      `<dc:subject><rdf:Bag><rdf:li>from-xmp</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>`;
    const app1 = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(packet)]);
    const both = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe1, (app1.length + 2) >> 8, (app1.length + 2) & 0xff]),
      app1,
      jpg.subarray(2),
    ]);
    expect(await sniff('both.jpg', both)).toMatchObject({ keywords: ['from-xmp'], title: 'Summer hero' });
    expect(await sniff('iptc.jpg', jpg)).toMatchObject({ keywords: ['summer', 'beach', 'Café terrace'] });
    expect([...loaded]).toEqual([]);

    // What the small readers leave alone still reads, through the full libraries.
    expect((await sniff('xmp.png', readFileSync(join(FX, 'xmp.png')))).keywords).toEqual(['logo', 'dark']);
    expect(loaded.has('exifr')).toBe(true);
    const commented = packet.replace('<dc:subject>', '<!-- tags --><dc:subject>');
    const app1b = Buffer.concat([Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1'), Buffer.from(commented)]);
    const odd = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe1, (app1b.length + 2) >> 8, (app1b.length + 2) & 0xff]),
      app1b,
      jpg.subarray(2),
    ]);
    expect((await sniff('odd.jpg', odd)).keywords).toEqual(['from-xmp']);
    expect(loaded.has('fast-xml-parser')).toBe(true);
  });
});
