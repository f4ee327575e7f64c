import type Database from 'better-sqlite3';

type Runner = Database.Transaction<(fn: () => unknown) => unknown>;
const runners = new WeakMap<Database.Database, Runner>();

/**
 * Runs `fn` as one atomic write: in a transaction of its own, or, inside one
 * already, as part of it. better-sqlite3 would open a savepoint for a nested
 * transaction, two statements more for every write of every job in a batch;
 * the enclosing transaction (or the savepoint a settlement opens for its job)
 * already undoes the whole of it when anything fails.
 */
export function atomic<T>(db: Database.Database, fn: () => T): T {
  if (db.inTransaction) return fn();
  let run = runners.get(db);
  if (!run) {
    // Made once per connection: a transaction function costs several closures to build.
    run = db.transaction((f: () => unknown) => f());
    runners.set(db, run);
  }
  return run(fn) as T;
}
