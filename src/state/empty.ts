import type Database from 'better-sqlite3';

/** Tables a synced file clears its path or asset from, and that are empty on almost every first sync. */
export type Clearable = 'skipped' | 'kept' | 'drift' | 'file_versions';

const TABLES: readonly Clearable[] = ['skipped', 'kept', 'drift', 'file_versions'];

/**
 * Which of those tables held no row when the pool's batch transaction began,
 * and has had none written since: a DELETE there would find nothing, so a
 * write may leave it out. Known only inside `within`, which runs in an
 * IMMEDIATE transaction: no other connection writes until it ends, and this
 * one marks every table it writes (`wrote`). Outside, nothing is known empty
 * and every DELETE runs.
 */
export class EmptyTables {
  readonly #empty = new Set<Clearable>();
  readonly #look: Database.Statement;

  constructor(db: Database.Database) {
    this.#look = db.prepare(`SELECT ${TABLES.map((t) => `NOT EXISTS (SELECT 1 FROM ${t})`).join(', ')}`).raw();
  }

  /** Runs fn (inside a write transaction) knowing which tables are empty. */
  within<T>(fn: () => T): T {
    const empty = this.#look.get() as number[];
    for (let i = 0; i < TABLES.length; i++) if (empty[i]) this.#empty.add(TABLES[i]!);
    try {
      return fn();
    } finally {
      this.#empty.clear();
    }
  }

  isEmpty(table: Clearable): boolean {
    return this.#empty.has(table);
  }

  wrote(table: Clearable): void {
    this.#empty.delete(table);
  }
}

const registry = new WeakMap<Database.Database, EmptyTables>();

/** The connection's one EmptyTables, shared by the repos that write those tables. */
export function emptyTables(db: Database.Database): EmptyTables {
  let e = registry.get(db);
  if (!e) {
    e = new EmptyTables(db);
    registry.set(db, e);
  }
  return e;
}
