import { readXmp } from './load.js';
import { unescapeXml } from './text.js';
import type { FileMetadata } from './types.js';

const XMP_ID = Buffer.from('http://ns.adobe.com/xap/1.0/');
const IRB_ID = Buffer.from('Photoshop 3.0');

/**
 * A JPEG's metadata lives in the APPn segments before the image data: exifr
 * is given only those (a few KB instead of the whole head), and nothing at all
 * when none is an XMP (APP1) or IPTC
 * (APP13) block, as in most JPEGs straight from a camera. Anything else goes
 * whole.
 */
export function metadataBlocks(head: Buffer): Buffer | null {
  if (head.length < 4 || head[0] !== 0xff || head[1] !== 0xd8) return head;
  let at = 2;
  let any = false;
  while (at + 4 <= head.length && head[at] === 0xff) {
    const marker = head[at + 1];
    if (marker === 0xda || marker === 0xd9) break; // start of scan, end of image
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const id = marker === 0xe1 ? XMP_ID : marker === 0xed ? IRB_ID : undefined;
    if (id && head.subarray(at + 4, at + 4 + id.length).equals(id)) any = true;
    at += 2 + head.readUInt16BE(at + 2);
  }
  return any ? head.subarray(0, Math.min(head.length, at + 2)) : null;
}

type Exifr = Pick<typeof import('exifr'), 'parse'>;
let exifrModule: Promise<Exifr> | undefined;

/** exifr is a CommonJS bundle: Node hands it over as the default export. */
function loadExifr(): Promise<Exifr> {
  exifrModule ??= import('exifr').then((m) => (m as unknown as { default?: Exifr }).default ?? m);
  return exifrModule;
}

const BASE = {
  tiff: false,
  ifd1: false,
  exif: false,
  gps: false,
  interop: false,
  jfif: false,
  ihdr: false,
  icc: false,
  iptc: true,
  mergeOutput: false,
  translateValues: false,
  reviveValues: false,
} as const;
// One object each, for every call: exifr caches what it derives from an options object by identity.
const PARSED = { ...BASE, xmp: true };
const RAW = { ...BASE, xmp: { parse: false } };
const DC_URI = Buffer.from('http://purl.org/dc/elements/1.1/');

/**
 * IPTC and XMP from the head of a TIFF, PNG or HEIC file, or of a JPEG that
 * jpeg.ts declined. exifr parses the XMP itself; it matches namespaces by
 * their usual prefixes, so a packet that declares Dublin Core under another
 * prefix goes to readXmp instead.
 */
export async function viaExifr(head: Buffer): Promise<{ xmp?: FileMetadata; iptc: FileMetadata }> {
  // Loaded on first use: most runs of `once` over unchanged trees never need it.
  const exifr = await loadExifr();
  let out: { dc?: Record<string, unknown>; pdf?: Record<string, unknown>; iptc?: Record<string, unknown> } | undefined;
  try {
    // A Buffer, never a path: exifr would open a string argument itself.
    out = (await exifr.parse(head, PARSED)) as typeof out;
  } catch {
    return { iptc: {} }; // truncated or not what its name says: it says nothing
  }
  const iptc = fromIptc(out?.iptc);
  if (out?.dc || out?.pdf) return { xmp: fromExifrXmp(out.dc ?? {}, out.pdf), iptc };
  if (head.indexOf(DC_URI) < 0) return { iptc };
  try {
    const raw = (await exifr.parse(head, RAW)) as { xmp?: unknown } | undefined;
    return { xmp: typeof raw?.xmp === 'string' ? await readXmp(raw.xmp) : undefined, iptc };
  } catch {
    return { iptc };
  }
}

type ExifrAlt = string | { lang?: string; value?: unknown } | Array<string | { lang?: string; value?: unknown }>;

/** exifr's XMP: one item unwrapped, a language alternative as {lang, value}, entities left as written. */
function fromExifrXmp(dc: Record<string, unknown>, pdf?: Record<string, unknown>): FileMetadata {
  const list = (v: unknown): string[] =>
    (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v])
      .map((x) => (typeof x === 'object' && x !== null ? (x as { value?: unknown }).value : x))
      .filter((x): x is string | number => typeof x === 'string' || typeof x === 'number')
      .map((x) => unescapeXml(String(x)).trim())
      .filter(Boolean);
  const alt = (v: unknown): string | undefined => {
    const items = (Array.isArray(v) ? v : [v]) as ExifrAlt[];
    const preferred = items.find((x) => typeof x === 'object' && x !== null && !Array.isArray(x) && x.lang === 'x-default');
    return list(preferred ?? v)[0];
  };
  const out: FileMetadata = {
    keywords: list(dc.subject),
    title: alt(dc.title),
    description: alt(dc.description),
    creator: list(dc.creator).join(', ') || undefined,
    copyright: alt(dc.rights),
  };
  if (out.keywords!.length === 0 && typeof pdf?.Keywords === 'string') {
    out.keywords = unescapeXml(pdf.Keywords)
      .split(/[,;]/)
      .map((w) => w.trim())
      .filter(Boolean);
  }
  return out;
}

/** exifr's IPTC output (one value, or several as an array) as FileMetadata. */
export function fromIptc(iptc: Record<string, unknown> | undefined): FileMetadata {
  if (!iptc) return {};
  const list = (v: unknown): string[] =>
    (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string').map(text);
  const one = (v: unknown): string | undefined => list(v).join(', ') || undefined;
  return {
    keywords: list(iptc.Keywords),
    title: one(iptc.ObjectName) ?? one(iptc.Headline),
    description: one(iptc.Caption),
    creator: one(iptc.Byline),
    copyright: one(iptc.CopyrightNotice),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** exifr decodes IPTC text as Latin-1; today's tools write UTF-8. Valid UTF-8 is taken as such. */
function text(s: string): string {
  if (!/[\x80-\xff]/.test(s)) return s;
  try {
    return utf8.decode(Buffer.from(s, 'latin1'));
  } catch {
    return s;
  }
}
