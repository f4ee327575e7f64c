import Database from 'better-sqlite3';

/**
 * Counts every SQLite statement better-sqlite3 runs in this process while `fn`
 * runs, by SQL text with its whitespace folded: prepared statements, pragmas,
 * and the BEGIN/COMMIT/SAVEPOINT/RELEASE of its transaction functions all go
 * through the one Statement prototype. Restored when `fn` settles.
 */
export async function countStatements(fn: () => Promise<void>): Promise<Map<string, number>> {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  const counts = new Map<string, number>();
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  for (const m of ['run', 'get', 'all', 'iterate']) {
    const orig = proto[m]!;
    originals.set(m, orig);
    proto[m] = function (this: { source: string }, ...args: unknown[]) {
      const key = this.source.replace(/\s+/g, ' ').trim();
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return orig.apply(this, args);
    };
  }
  try {
    await fn();
  } finally {
    for (const [m, orig] of originals) proto[m] = orig;
  }
  return counts;
}

/** How many of the counted statements start with `prefix`. */
export function counted(counts: Map<string, number>, prefix: string): number {
  let n = 0;
  for (const [sql, c] of counts) if (sql.startsWith(prefix)) n += c;
  return n;
}
