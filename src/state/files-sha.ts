import type Database from 'better-sqlite3';
import { otherCommits } from './others.js';

/** Bits per mapping: 128 KiB, a few false positives in a thousand at 5,000 synced rows. */
const BITS = 1 << 20;
/** More synced rows than this in a mapping: reading them all costs more than the lookups it saves. */
const MAX_LOADED = 100_000;

/**
 * Which hashes a mapping's synced rows might have: a bit per hash prefix, set
 * for every row written with a hash, never cleared. A clear bit proves no
 * synced row has that hash, so the move lookup of a new file (one statement,
 * and the only one of a job outside a transaction, so a read lock taken and
 * dropped) is left out. Filled from the table at a mapping's first lookup,
 * then kept by FilesRepo's writes, which are all the writes of the table (the
 * lock holder is its only writer). A row removed or rolled back leaves its bit
 * set: a lookup that finds nothing, as before. A commit of another connection
 * seen inside a transaction (data_version) drops them all.
 */
export class ShaFilter {
  /** null: too many rows to load, every lookup goes to the table. */
  private readonly byMapping = new Map<string, Uint8Array | null>();
  private readonly othersCommitted: () => boolean;
  private readonly sLoad;

  constructor(private readonly db: Database.Database) {
    this.sLoad = db.prepare(`SELECT substr(sha256, 1, 5) FROM files WHERE mapping = ? AND sha256 IS NOT NULL LIMIT ?`).pluck();
    this.othersCommitted = otherCommits(db);
  }

  /** False when no synced row of the mapping has this hash. */
  mayHave(mapping: string, sha256: string): boolean {
    let bits = this.byMapping.get(mapping);
    if (bits === undefined) bits = this.load(mapping);
    if (bits === null) return true;
    const i = bitOf(sha256);
    return (bits[i >>> 3]! & (1 << (i & 7))) !== 0;
  }

  /** A row of the mapping now has this hash (written, or about to be). */
  add(mapping: string, sha256: string | null): void {
    if (sha256 === null) return;
    const bits = this.byMapping.get(mapping);
    if (!bits) return; // not loaded (read from the table when it is) or not kept
    const i = bitOf(sha256);
    bits[i >>> 3]! |= 1 << (i & 7);
  }

  /**
   * Inside a transaction a read of data_version takes no lock of its own: the
   * callers that hold one ask here whether another connection committed.
   */
  checkOthers(): void {
    if (this.db.inTransaction && this.othersCommitted()) this.byMapping.clear();
  }

  private load(mapping: string): Uint8Array | null {
    if (this.othersCommitted()) this.byMapping.clear();
    let bits: Uint8Array | null = new Uint8Array(BITS / 8);
    let n = 0;
    for (const prefix of this.sLoad.iterate(mapping, MAX_LOADED + 1) as IterableIterator<string>) {
      if (++n > MAX_LOADED) {
        bits = null;
        break;
      }
      const i = bitOf(prefix);
      bits[i >>> 3]! |= 1 << (i & 7);
    }
    this.byMapping.set(mapping, bits);
    return bits;
  }
}

/** The first five hex digits (20 bits) of a hash; any other text maps the same way every time. */
function bitOf(sha256: string): number {
  let v = 0;
  for (let k = 0; k < 5; k++) v = (v << 4) | (hexValue(sha256.charCodeAt(k)) & 15);
  return v & (BITS - 1);
}

function hexValue(c: number): number {
  // '0'-'9' -> 0-9; 'a'-'f' and 'A'-'F' -> 10-15; NaN (a short string) -> 0.
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}
