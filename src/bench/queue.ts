/**
 * Queue benchmark (`npm run bench:queue`; not a test). Prints, from one run on
 * one machine, figures as ratios to a ceiling measured side by side: raw
 * better-sqlite3 inserts of job-shaped rows in one transaction at
 * synchronous=FULL. Absolute numbers from noisy shared machines do not compare
 * across runs; the ratios do.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openState, type State } from '../state/index.js';
import { createEnqueueBuffer } from '../state/jobs.js';

const dir = mkdtempSync(join(tmpdir(), 'sqsync-bench-'));
let seq = 0;

function fresh(sync: 'FULL' | 'NORMAL'): State {
  const s = openState(join(dir, `q${seq++}.db`), { queue: { debounceMs: 0 } });
  s.db.pragma(`synchronous = ${sync}`);
  return s;
}

/** Best of `runs` (the least disturbed by other load), in units per second. */
function rate(units: number, runs: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return (units / best) * 1000;
}

function ceiling(n: number): number {
  const db = new Database(join(dir, `raw${seq++}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    `CREATE TABLE t (id INTEGER PRIMARY KEY, mapping TEXT NOT NULL, path TEXT NOT NULL, run_at INTEGER NOT NULL, UNIQUE (mapping, path)) STRICT`,
  );
  const ins = db.prepare(`INSERT INTO t (mapping, path, run_at) VALUES (?, ?, ?)`);
  let round = 0;
  const r = rate(n, 5, () => {
    const p = `r${round++}/`;
    db.transaction(() => {
      for (let i = 0; i < n; i++) ins.run('m', p + i, i);
    }).immediate();
  });
  db.close();
  return r;
}

function coalesced(events: number, paths: number, batch: number): number {
  const s = fresh('FULL');
  const items = Array.from({ length: events }, (_, i) => ({ mapping: 'm', path: `p${i % paths}`, reason: 'change' }));
  const r = rate(events, 5, () => {
    for (let i = 0; i < items.length; i += batch) s.jobs.enqueueMany(items.slice(i, i + batch));
  });
  if (s.jobs.counts().queued !== paths) throw new Error('coalescing broke');
  s.close();
  return r;
}

/** What the watcher does: add() per event, the buffer writes once per `maxItems` distinct paths or tick. */
function buffered(events: number, paths: number): number {
  const s = fresh('FULL');
  const buf = createEnqueueBuffer(s.jobs, { maxItems: 1000 });
  const r = rate(events, 5, () => {
    for (let i = 0; i < events; i++) buf.add('m', `p${i % paths}`, 'change');
    buf.flush();
  });
  buf.close();
  if (s.jobs.counts().queued !== paths) throw new Error('coalescing broke');
  s.close();
  return r;
}

/** Full lifecycle of `jobs` distinct paths, `batch` at a time: enqueueMany → claim(batch) → completeMany. */
function cycles(sync: 'FULL' | 'NORMAL', jobs: number, batch: number): number {
  const s = fresh(sync);
  let round = 0;
  const r = rate(jobs, 3, () => {
    const p = `r${round++}/`;
    for (let i = 0; i < jobs; i += batch) {
      const items = [];
      for (let k = i; k < Math.min(i + batch, jobs); k++) items.push({ mapping: 'm', path: p + k, reason: 'add' });
      s.jobs.enqueueMany(items);
      const claimed = s.jobs.claim('bench', batch);
      if (claimed.length !== items.length) throw new Error(`claimed ${claimed.length} of ${items.length}`);
      s.jobs.completeMany(claimed);
    }
  });
  if (s.jobs.counts().queued + s.jobs.counts().running !== 0) throw new Error('jobs left over');
  s.close();
  return r;
}

function listRate(rows: number): number {
  const s = fresh('FULL');
  s.files.batch(() => {
    for (let i = 0; i < rows; i++) {
      s.files.recordSynced({
        mapping: 'm',
        path: `d${i % 100}/f${i}`,
        size: i,
        mtimeMs: i + 0.5,
        sha256: 'h',
        assetId: `a${i}`,
        parentId: 'p',
        version: 1,
        syncedAt: 1,
        missingSince: null,
      });
    }
  });
  const r = rate(rows, 3, () => s.files.list('m'));
  s.close();
  return r;
}

try {
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(
    `queue benchmark — node ${process.version}, ${cpus().length} × ${cpu}, SQLite ${(new Database(':memory:').prepare('select sqlite_version() v').get() as { v: string }).v}`,
  );
  const ceil = ceiling(10_000);
  const rows: [string, number, string][] = [
    ['ceiling: raw inserts, 1 transaction, FULL', ceil, 'rows/s'],
    ['coalesced events, 10k over 100 paths, 1 transaction', coalesced(10_000, 100, 10_000), 'events/s'],
    ['coalesced events, 10k over 100 paths, flush per 100', coalesced(10_000, 100, 100), 'events/s'],
    ['coalesced events, 10k over 100 paths, 1 commit each', coalesced(2_000, 100, 1), 'events/s'],
    ['coalesced events, 10k over 100 paths, EnqueueBuffer', buffered(10_000, 100), 'events/s'],
    ['cycles FULL, batch 100 (enqueue+claim+complete)', cycles('FULL', 10_000, 100), 'jobs/s'],
    ['cycles FULL, batch 10', cycles('FULL', 5_000, 10), 'jobs/s'],
    ['cycles FULL, unbatched (3 commits per job)', cycles('FULL', 1_000, 1), 'jobs/s'],
    ['cycles NORMAL, batch 100', cycles('NORMAL', 10_000, 100), 'jobs/s'],
    ['cycles NORMAL, batch 10', cycles('NORMAL', 5_000, 10), 'jobs/s'],
    ['cycles NORMAL, unbatched', cycles('NORMAL', 2_000, 1), 'jobs/s'],
    ['files.list, 100k rows', listRate(100_000), 'rows/s'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [name, v, unit] of rows) {
    console.log(
      `${name.padEnd(w)}  ${Math.round(v).toLocaleString('en-US').padStart(10)} ${unit.padEnd(8)}  ${(v / ceil).toFixed(3)} × ceiling`,
    );
  }
  console.log('targets: coalesced ≥ 50,000 events/s; cycles at FULL ≥ 5,000 jobs/s');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
