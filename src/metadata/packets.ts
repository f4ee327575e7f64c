/**
 * Finds XMP packets in a stream of bytes fed in order (a PSD's image
 * resources, a PDF's metadata stream, an SVG's `<metadata>`). It sees each
 * byte once, as the caller reads it anyway, and keeps only the packets.
 */

interface Marker {
  begin: Buffer;
  end: Buffer;
  /** The end marker closes an element (kept); `<?xpacket end` opens a PI whose rest we do not wait for. */
  keepEnd: boolean;
}

interface OpenPacket {
  marker: Marker;
  parts: Buffer[];
  bytes: number;
}

const MARKERS: readonly Marker[] = [
  { begin: Buffer.from('<?xpacket begin'), end: Buffer.from('<?xpacket end'), keepEnd: false },
  { begin: Buffer.from('<x:xmpmeta'), end: Buffer.from('</x:xmpmeta>'), keepEnd: true },
  // SVG editors write plain RDF into <metadata>, with no XMP wrapper.
  { begin: Buffer.from('<rdf:RDF'), end: Buffer.from('</rdf:RDF>'), keepEnd: true },
];
const LONGEST = Math.max(...MARKERS.flatMap((m) => [m.begin.length, m.end.length]));
/** Packets kept per file: PDFs and InDesign files carry one per placed image as well. */
const MAX_PACKETS = 8;
/** A packet that grows past this is dropped (a marker inside compressed data, or a runaway history). */
export const MAX_PACKET_BYTES = 4 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export class PacketScanner {
  readonly #packets: string[] = [];
  #expect = 0;
  #carry: Buffer = EMPTY;
  #open: OpenPacket | null = null;

  /** Bytes at `position`; a jump (a second region, a restarted read) drops a half-seen packet. */
  feed(chunk: Buffer, position: number): void {
    if (this.#packets.length >= MAX_PACKETS) return;
    if (position !== this.#expect) {
      this.#carry = EMPTY;
      this.#open = null;
    }
    this.#expect = position + chunk.length;
    const data = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    this.#carry = EMPTY;
    let i = 0;
    while (i < data.length && this.#packets.length < MAX_PACKETS) {
      const open = this.#open;
      if (!open) {
        const hit = earliest(data, i);
        if (!hit) {
          this.#carry = Buffer.from(data.subarray(Math.max(i, data.length - (LONGEST - 1))));
          return;
        }
        this.#open = { marker: hit.marker, parts: [], bytes: 0 };
        i = hit.at;
        continue;
      }
      const end = data.indexOf(open.marker.end, i);
      if (end < 0) {
        // Keep the last bytes back: the end marker may straddle this chunk and the next.
        const cut = Math.max(i, data.length - (open.marker.end.length - 1));
        this.#take(open, data.subarray(i, cut));
        if (this.#open) this.#carry = Buffer.from(data.subarray(cut));
        return;
      }
      this.#take(open, data.subarray(i, open.marker.keepEnd ? end + open.marker.end.length : end));
      if (this.#open) this.#packets.push(Buffer.concat(open.parts).toString('utf8'));
      this.#open = null;
      i = end + open.marker.end.length;
    }
  }

  /**
   * The packet that describes the file: in PDF-based files (PDF, AI,
   * INDD) the last document-level one (an incremental save appends a newer
   * one), else the first, which in PSD, EPS and SVG is the document's.
   */
  best(): string | undefined {
    const documentLevel = this.#packets.filter((p) => /pdf:Producer|xmpTPg:|illustrator:/.test(p));
    return documentLevel.at(-1) ?? this.#packets[0];
  }

  #take(open: OpenPacket, piece: Buffer): void {
    open.bytes += piece.length;
    if (open.bytes > MAX_PACKET_BYTES) {
      this.#open = null;
      return;
    }
    // Copied: a reference would keep a whole read buffer alive for a few bytes of it.
    if (piece.length > 0) open.parts.push(Buffer.from(piece));
  }
}

function earliest(data: Buffer, from: number): { marker: Marker; at: number } | null {
  let best: { marker: Marker; at: number } | null = null;
  for (const marker of MARKERS) {
    const at = data.indexOf(marker.begin, from);
    if (at >= 0 && (!best || at < best.at)) best = { marker, at };
  }
  return best;
}
