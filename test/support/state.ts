import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/lib/clock.js';
import { openState, type State, type StateOptions } from '../../src/state/index.js';

/** A temp dir per test and every state opened in it, closed and removed by cleanup(). */
export function tempStates() {
  const dirs: string[] = [];
  const states: State[] = [];
  return {
    dir(): string {
      const d = mkdtempSync(join(tmpdir(), 'sqsync-state-'));
      dirs.push(d);
      return d;
    },
    open(file: string, opts: StateOptions = {}): State {
      const s = openState(file, opts);
      states.push(s);
      return s;
    },
    /** A fresh state with a fake clock and no jitter (random = 0.5 → exactly 3/4 of the exponential). */
    fresh(queue: StateOptions['queue'] = {}) {
      const clock = new FakeClock();
      const file = join(this.dir(), 'state.db');
      const state = this.open(file, { clock, queue: { random: () => 0.5, ...queue } });
      return { clock, file, state, q: state.jobs };
    },
    cleanup(): void {
      for (const s of states.splice(0)) s.close();
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

const ROOT = join(import.meta.dirname, '../..');

/**
 * Child-process tests run the compiled state/queue (plain node cannot load
 * TypeScript), so dist must be built from the current sources; `npm test`
 * builds first. Returns what is wrong, or null.
 */
export function distProblem(): string | null {
  const newest = (dir: string) => Math.max(...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
  for (const m of ['state']) {
    const out = join(ROOT, 'dist', m, 'index.js');
    if (!existsSync(out)) return `${out} is missing`;
    if (newest(join(ROOT, 'src', m)) > newest(join(ROOT, 'dist', m))) return `dist/${m} is older than src/${m}`;
  }
  return null;
}

export function requireDist(): void {
  const problem = distProblem();
  if (problem)
    throw new Error(
      `${problem}: this test runs the compiled state/queue in child processes. Run \`npm test\` (it builds first) or \`npx tsc -p tsconfig.json\`.`,
    );
}

/** Jobs in the state database of a running process now, read-only (0 while the file does not exist or is being created). */
export function jobsIn(file: string): number {
  if (!existsSync(file)) return 0;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // still being created
  }
}
