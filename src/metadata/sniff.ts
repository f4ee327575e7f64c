import { posix } from 'node:path';
import { PacketScanner } from './packets.js';
import { preferFirst, type FileMetadata } from './types.js';
import { readXmp, readXmpQuick } from './load.js';
import { metadataBlocks, viaExifr } from './exifr.js';
import { readJpeg } from './jpeg.js';

/** exifr looks at this much of the start of the file: JPEG, PNG and HEIC keep their metadata blocks there. */
export const EXIFR_HEAD_BYTES = 1024 * 1024;
/** The XMP packet scan looks at the first … */
export const SCAN_HEAD_BYTES = 16 * 1024 * 1024;
/** … and the last bytes of a file (PDF incremental saves append their metadata). */
export const SCAN_TAIL_BYTES = 4 * 1024 * 1024;
const READ_PIECE = 1024 * 1024;

interface Reader {
  /** exifr reads IPTC and XMP from the head. */
  exifr: boolean;
  /** The packet scan looks at the head and the tail. */
  scan: boolean;
}

const EXIFR: Reader = { exifr: true, scan: false };
/** TIFF puts its XMP wherever its directory points, PNG may put it after the image data. */
const EXIFR_AND_SCAN: Reader = { exifr: true, scan: true };
const SCAN: Reader = { exifr: false, scan: true };

const BY_EXTENSION: Record<string, Reader> = {
  jpg: EXIFR,
  jpeg: EXIFR,
  jpe: EXIFR,
  heic: EXIFR,
  heif: EXIFR,
  avif: EXIFR,
  tif: EXIFR_AND_SCAN,
  tiff: EXIFR_AND_SCAN,
  dng: EXIFR_AND_SCAN,
  png: EXIFR_AND_SCAN,
  psd: SCAN,
  psb: SCAN,
  ai: SCAN,
  pdf: SCAN,
  indd: SCAN,
  eps: SCAN,
  svg: SCAN,
};

function readerFor(fileName: string): Reader | undefined {
  const ext = posix.extname(fileName).slice(1).toLowerCase();
  return BY_EXTENSION[ext];
}

/** Does squidex-sync read keywords and credits from files of this name? */
export function readsMetadata(fileName: string): boolean {
  return readerFor(fileName) !== undefined;
}

/** Where the bytes come from when the pass did not show them all: the file's open descriptor. */
export interface ReadAt {
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
}

/**
 * Collects what the metadata readers need while the worker reads a file for
 * its hash or its upload: the head for exifr, XMP packets for the rest. The
 * bytes are fed in order as they pass; nothing is read twice. When the pass
 * did not cover what is needed (a resumed upload, a re-annotation with no
 * pass at all), result() reads those bounded regions itself through the open
 * descriptor it is given.
 */
export class MetadataSniffer {
  readonly #reader: Reader | undefined;
  #head: Buffer[] = [];
  #headBytes = 0;
  /** Bytes seen in one run from offset 0. */
  #next = 0;
  #scanner = new PacketScanner();

  constructor(
    fileName: string,
    private readonly size: number,
  ) {
    this.#reader = readerFor(fileName);
  }

  get wanted(): boolean {
    return this.#reader !== undefined;
  }

  /** `reused`: the caller reads into this buffer again, so what is kept of it is copied. */
  feed(chunk: Buffer, position: number, opts: { reused?: boolean } = {}): void {
    const reader = this.#reader;
    if (!reader) return;
    if (position === 0 && this.#next !== 0) this.#reset();
    if (position !== this.#next) return; // not in order: result() reads what it needs
    this.#next += chunk.length;
    if (reader.exifr && this.#headBytes < EXIFR_HEAD_BYTES) {
      const part = chunk.subarray(0, EXIFR_HEAD_BYTES - this.#headBytes);
      this.#head.push(opts.reused ? Buffer.from(part) : part);
      this.#headBytes += part.length;
    }
    if (reader.scan) this.#scan(chunk, position);
  }

  /**
   * What the file says, when the pass showed all of it and the readers in
   * this module take it (a JPEG, an ordinary packet): answered without a
   * promise, as a first sync asks once per file. Undefined: ask result().
   */
  resultNow(): FileMetadata | undefined {
    const reader = this.#reader;
    if (!reader) return {};
    if (this.#next < Math.min(this.size, this.#needed(reader))) return undefined;
    let xmp: FileMetadata | undefined;
    let iptc: FileMetadata = {};
    if (reader.exifr && this.#headBytes > 0) {
      const jpeg = readJpeg(this.#head.length === 1 ? this.#head[0] : Buffer.concat(this.#head));
      if (!jpeg) return undefined;
      if (jpeg.xmp !== undefined) {
        xmp = readXmpQuick(jpeg.xmp);
        if (!xmp) return undefined;
      }
      iptc = jpeg.iptc;
    }
    const packet = xmp ? undefined : reader.scan ? this.#scanner.best() : undefined;
    if (packet) {
      xmp = readXmpQuick(packet);
      if (!xmp) return undefined;
    }
    this.#head = [];
    return normalise(preferFirst(xmp, iptc));
  }

  /** What the file says; `file` fills in what the pass did not show. Never throws for a file that does not parse. */
  async result(file?: ReadAt, signal?: AbortSignal): Promise<FileMetadata> {
    const reader = this.#reader;
    if (!reader) return {};
    if (this.#next < Math.min(this.size, this.#needed(reader)) && file) await this.#readRegions(file, reader, signal);
    let xmp: FileMetadata | undefined;
    let iptc: FileMetadata = {};
    if (reader.exifr && this.#headBytes > 0) {
      const head = this.#head.length === 1 ? this.#head[0] : Buffer.concat(this.#head);
      // A well-formed JPEG is read here; anything else, or anything odd, goes to exifr.
      const jpeg = readJpeg(head);
      const blocks = jpeg ? null : metadataBlocks(head);
      const found = jpeg ?? (blocks ? await viaExifr(blocks) : undefined);
      if (found) {
        xmp = typeof found.xmp === 'string' ? await readXmp(found.xmp) : found.xmp;
        iptc = found.iptc;
      }
    }
    this.#head = [];
    const packet = xmp ? undefined : reader.scan ? this.#scanner.best() : undefined;
    if (packet) xmp = await readXmp(packet);
    return normalise(preferFirst(xmp, iptc));
  }

  #needed(reader: Reader): number {
    return reader.scan ? this.size : EXIFR_HEAD_BYTES;
  }

  #reset(): void {
    this.#head = [];
    this.#headBytes = 0;
    this.#next = 0;
    this.#scanner = new PacketScanner();
  }

  /** Only the head and tail regions reach the scanner. */
  #scan(chunk: Buffer, position: number): void {
    const end = position + chunk.length;
    const tailFrom = Math.max(SCAN_HEAD_BYTES, this.size - SCAN_TAIL_BYTES);
    if (position < SCAN_HEAD_BYTES) this.#scanner.feed(chunk.subarray(0, SCAN_HEAD_BYTES - position), position);
    if (end > tailFrom) {
      const from = Math.max(position, tailFrom);
      this.#scanner.feed(chunk.subarray(from - position), from);
    }
  }

  async #readRegions(file: ReadAt, reader: Reader, signal?: AbortSignal): Promise<void> {
    this.#reset();
    const headEnd = Math.min(this.size, Math.max(reader.exifr ? EXIFR_HEAD_BYTES : 0, reader.scan ? SCAN_HEAD_BYTES : 0));
    const regions: Array<[number, number]> = [[0, headEnd]];
    if (reader.scan && this.size > headEnd) regions.push([Math.max(headEnd, this.size - SCAN_TAIL_BYTES), this.size]);
    for (const [from, to] of regions) {
      for (let at = from; at < to; ) {
        signal?.throwIfAborted();
        const buf = Buffer.allocUnsafe(Math.min(READ_PIECE, to - at));
        const n = await file.read(buf, 0, buf.length, at);
        if (n <= 0) return;
        const piece = buf.subarray(0, n);
        if (at === this.#next) this.feed(piece, at);
        else if (reader.scan) this.#scan(piece, at);
        at += n;
      }
    }
  }
}

const MAX_KEYWORDS = 200;
const MAX_KEYWORD_CHARS = 200;
const MAX_TEXT_CHARS = 4000;

/** Trimmed, without control characters, duplicates or empties, and within sane sizes. */
export function normalise(m: FileMetadata): FileMetadata {
  const clean = (s: string): string => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
  const out: FileMetadata = {};
  if (m.keywords) {
    const seen = new Set<string>();
    for (const k of m.keywords.map(clean)) {
      if (k && k.length <= MAX_KEYWORD_CHARS && !seen.has(k) && seen.size < MAX_KEYWORDS) seen.add(k);
    }
    if (seen.size > 0) out.keywords = [...seen];
  }
  for (const f of ['title', 'description', 'creator', 'copyright'] as const) {
    const v = m[f] === undefined ? '' : clean(m[f]!).slice(0, MAX_TEXT_CHARS);
    if (v) out[f] = v;
  }
  return out;
}
