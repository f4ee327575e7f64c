import type Database from 'better-sqlite3';
import { otherCommits } from './others.js';

/**
 * Rows per mapping of the files table as last counted, kept exact through the
 * writes FilesRepo makes, which are all the writes of the table: the live
 * delete guard asks for the count at every deleted file, and counting reads
 * every row of the mapping. A write that committed on its own moves the
 * figure; one inside a transaction (which may yet roll back) drops it; a
 * commit of another connection (data_version) drops them all.
 */
export class KnownCounts {
  private readonly known = new Map<string, number>();
  private readonly othersCommitted: () => boolean;

  constructor(private readonly db: Database.Database) {
    this.othersCommitted = otherCommits(db);
  }

  /** Whether a write to this mapping must tell its change (counted). */
  has(mapping: string): boolean {
    return this.known.has(mapping);
  }

  /** The mapping's rows, from `read` only when no figure followed the writes since. */
  get(mapping: string, read: () => number): number {
    if (this.othersCommitted()) this.known.clear();
    const kept = this.known.get(mapping);
    if (kept !== undefined) return kept;
    const n = read();
    // Inside a transaction the figure holds writes that may yet roll back.
    if (!this.db.inTransaction) this.known.set(mapping, n);
    return n;
  }

  /** Whether a write made now commits on its own (counted's `alone`). */
  alone(): boolean {
    return !this.db.inTransaction;
  }

  /** After a write that added (delta > 0) or removed rows of a mapping; `alone`: it committed by itself. */
  counted(mapping: string, delta: number, alone: boolean): void {
    const n = this.known.get(mapping);
    if (delta === 0 || n === undefined) return;
    if (alone) this.known.set(mapping, n + delta);
    else this.known.delete(mapping);
  }
}
