import { fromIptc } from './exifr.js';
import type { FileMetadata } from './types.js';

const XMP_ID = Buffer.from('http://ns.adobe.com/xap/1.0/\0', 'latin1');
const IRB_ID = Buffer.from('Photoshop 3.0\0', 'latin1');
const EIGHT_BIM = 0x3842494d;
const IPTC_RESOURCE = 0x0404;

/** IPTC datasets of record 2 that we read, by exifr's names (fromIptc takes those). */
const DATASETS: Record<number, string> = {
  5: 'ObjectName',
  25: 'Keywords',
  80: 'Byline',
  105: 'Headline',
  116: 'CopyrightNotice',
  120: 'Caption',
};

export interface JpegMetadata {
  /** The standard XMP packet (APP1), as text. */
  xmp?: string;
  iptc: FileMetadata;
}

/**
 * A JPEG's XMP packet and IPTC fields, read from its APP1 and APP13 segments
 * without exifr: loading exifr and warming it up cost a fresh `once` more
 * than all the files it read. It reads only what is laid out as the formats
 * say — segments up to the image data, Photoshop resources, IPTC datasets —
 * and returns null at anything else (a segment cut off, a resource that
 * overruns, an extended-length dataset), for exifr to judge as before.
 */
export function readJpeg(head: Buffer): JpegMetadata | null {
  if (head.length < 4 || head[0] !== 0xff || head[1] !== 0xd8) return null;
  let at = 2;
  let xmp: string | undefined;
  let iptc: FileMetadata | undefined;
  for (;;) {
    if (at + 4 > head.length || head[at] !== 0xff) return null;
    const marker = head[at + 1];
    if (marker === 0xda || marker === 0xd9) break; // start of scan, end of image
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const end = at + 2 + head.readUInt16BE(at + 2);
    if (end > head.length || end < at + 4) return null;
    const body = head.subarray(at + 4, end);
    if (marker === 0xe1 && xmp === undefined && startsWith(body, XMP_ID)) {
      xmp = body.toString('utf8', XMP_ID.length);
    } else if (marker === 0xed && iptc === undefined && startsWith(body, IRB_ID)) {
      const found = iptcOfResources(body.subarray(IRB_ID.length));
      if (found === null) return null;
      iptc = found;
    }
    at = end;
  }
  return { xmp, iptc: iptc ?? {} };
}

function startsWith(body: Buffer, id: Buffer): boolean {
  return body.length >= id.length && body.compare(id, 0, id.length, 0, id.length) === 0;
}

/** Photoshop image resources: `8BIM`, id, a Pascal name padded to even, size, data padded to even. */
function iptcOfResources(irb: Buffer): FileMetadata | undefined | null {
  let at = 0;
  while (at + 12 <= irb.length) {
    if (irb.readUInt32BE(at) !== EIGHT_BIM) return null;
    const id = irb.readUInt16BE(at + 4);
    const nameBytes = 1 + irb[at + 6];
    const sizeAt = at + 6 + nameBytes + (nameBytes % 2);
    if (sizeAt + 4 > irb.length) return null;
    const size = irb.readUInt32BE(sizeAt);
    const dataAt = sizeAt + 4;
    if (dataAt + size > irb.length) return null;
    if (id === IPTC_RESOURCE) return iptcOfDatasets(irb.subarray(dataAt, dataAt + size));
    at = dataAt + size + (size % 2);
  }
  return at === irb.length || irb.subarray(at).every((b) => b === 0) ? undefined : null;
}

/** IPTC-IIM: 0x1C, record, dataset, a 16-bit size, the value. Text is decoded as exifr does, then fromIptc's UTF-8 check. */
function iptcOfDatasets(iim: Buffer): FileMetadata | null {
  const raw: Record<string, string[]> = {};
  let at = 0;
  while (at < iim.length) {
    if (iim[at] !== 0x1c) return iim.subarray(at).every((b) => b === 0) ? fromIptc(raw) : null;
    if (at + 5 > iim.length) return null;
    const size = iim.readUInt16BE(at + 3);
    if (size & 0x8000) return null; // an extended-length dataset: rare, and exifr reads it differently
    const valueAt = at + 5;
    if (valueAt + size > iim.length) return null;
    const name = iim[at + 1] === 2 ? DATASETS[iim[at + 2]] : undefined;
    if (name) {
      raw[name] ??= [];
      raw[name].push(iim.toString('latin1', valueAt, valueAt + size));
    }
    at = valueAt + size;
  }
  return fromIptc(raw);
}
