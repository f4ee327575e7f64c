// The delete guard's cost per deleted file on a big share: a state database of
// BENCH_GUARD_FILES (100,000) synced rows in one mapping, BENCH_GUARD_GONE
// (10,000) of them (ten folders) seen missing, as a designer deleting folders
// leaves it. Prints, per build, the guard's queries per call (countMissing,
// count, newestMissing) and the main thread's busy time (event loop
// utilization) per delete decision, driving handleGone as the pool does after
// the move window for BENCH_GUARD_DECISIONS (2,000) of the gone files, spread
// over them: first while the deletion settles (each held, the guard run), then
// once it has (each forgotten, deletes: keep; synchronous=NORMAL, so the figure
// is the decision's and not the disk's fsync). No server is asked: a held or
// forgotten file sends nothing. BENCH_BASELINE=/path/to/other/dist runs that
// build too, alternating with this one BENCH_ROUNDS (1) times each, each build
// in a child process. The machine may be shared: compare the builds of one
// run, with its load average.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DIST, envInt, mainIf, rmDir, workDir } from './lib.mjs';

const MOVE_WINDOW_MS = 1000;
const SETTLE_MS = 10_000;
const T0 = 1_700_000_000_000;

export async function run() {
  const builds = { this: DIST };
  if (process.env.BENCH_BASELINE) builds.baseline = resolve(process.env.BENCH_BASELINE);
  const rounds = envInt('BENCH_ROUNDS', 1);
  const n = envInt('BENCH_GUARD_FILES', 100_000);
  const gone = envInt('BENCH_GUARD_GONE', 10_000);
  const results = Object.fromEntries(Object.keys(builds).map((b) => [b, []]));
  const loads = [];
  for (let r = 0; r < rounds; r++) {
    for (const [build, dist] of Object.entries(builds)) {
      loads.push(loadavg()[0]);
      const out = execFileSync(process.execPath, [import.meta.filename, '--child', dist], {
        env: { ...process.env, BENCH_GUARD_FILES: String(n), BENCH_GUARD_GONE: String(gone) },
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 1 << 20,
      });
      results[build].push(JSON.parse(out.toString().trim().split('\n').pop()));
    }
  }
  loads.push(loadavg()[0]);
  const load = `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const rows = [];
  const figures = [
    ['countMissing per call', 'countMissingUs', 'µs'],
    ['count per call', 'countUs', 'µs'],
    ['newestMissing per call', 'newestUs', 'µs'],
    ['settling: main thread per decision', 'settleUs', 'µs'],
    ['settled, forgotten: main thread per decision', 'forgetUs', 'µs'],
  ];
  for (const [figure, key, unit] of figures) {
    const [now, base] = ['this', 'baseline'].map((b) => results[b] && median(results[b].map((x) => x[key])));
    rows.push({
      bench: `guard burst: ${gone} of ${n} files gone`,
      figure,
      value: base === undefined ? `${now.toFixed(1)}` : `${base.toFixed(1)} → ${now.toFixed(1)}`,
      unit: `${unit}${rounds > 1 ? ` (median of ${rounds})` : ''}${base === undefined ? '' : ' (baseline → this)'}; ${load}`,
      ratio: base === undefined ? undefined : `${(base / now).toFixed(0)}×`,
    });
  }
  return rows;
}

/** One build's figures, as JSON on stdout. */
async function child(dist) {
  const at = (p) => import(pathToFileURL(join(dist, p)).href);
  const { openState } = await at('state/index.js');
  const { handleGone } = await at('worker/gone.js');
  const { FakeClock } = await at('lib/clock.js');
  const { silentLogger } = await at('lib/log.js');
  const n = envInt('BENCH_GUARD_FILES', 100_000);
  const gone = envInt('BENCH_GUARD_GONE', 10_000);
  const dir = workDir('guard');
  try {
    const local = join(dir, 'share');
    mkdirSync(local);
    writeFileSync(join(local, 'still-here.txt'), 'x'); // an empty root is held for another reason
    const state = openState(join(dir, 'state.db'), { verify: false });
    state.db.pragma('synchronous = NORMAL');
    // A hundred folders of equal size; the first ones are the deleted ones.
    const perFolder = Math.ceil(n / 100);
    const pathOf = (i) => `folder${String(Math.floor(i / perFolder)).padStart(3, '0')}/f${i}.jpg`;
    for (let from = 0; from < n; from += 50_000) {
      state.files.batch(() => {
        for (let i = from; i < Math.min(n, from + 50_000); i++) {
          state.files.recordSynced({
            mapping: 'share',
            path: pathOf(i),
            size: 100_000 + i,
            mtimeMs: T0 - 1e9 + i,
            sha256: createHash('sha256').update(String(i)).digest('hex'),
            assetId: randomUUID(),
            parentId: randomUUID(),
            version: 1,
            syncedAt: T0 - 1e6,
            missingSince: null,
          });
        }
      });
    }
    const missing = Array.from({ length: gone }, (_, i) => pathOf(i));
    state.files.batch(() => {
      for (const p of missing) state.files.markMissing('share', p, T0);
    });
    const step = Math.max(1, Math.floor(gone / envInt('BENCH_GUARD_DECISIONS', 2000)));
    const paths = missing.filter((_, i) => i % step === 0);

    const perCall = (fn, reps = 50) => {
      fn();
      const t = performance.now();
      for (let i = 0; i < reps; i++) fn();
      return ((performance.now() - t) * 1000) / reps;
    };
    const figures = {
      countMissingUs: perCall(() => state.files.countMissing('share', -1)),
      countUs: perCall(() => state.files.count('share')),
      newestUs: perCall(() => state.files.newestMissing('share')),
    };

    const clock = new FakeClock(T0 + MOVE_WINDOW_MS + 1);
    const mapping = { name: 'share', local, remote: 'Share', deletes: 'keep', permanentDeletes: false };
    const ctx = {
      state,
      clock,
      logger: silentLogger,
      mappings: new Map([['share', mapping]]),
      moveWindowMs: MOVE_WINDOW_MS,
      firstLook: () => T0 - 1,
      guard: { enabled: true, minFiles: 20, maxShare: 0.5, settleMs: SETTLE_MS },
    };
    /** Main-thread busy time per decision over the burst, each decision on the row as the pool reads it with the claim. */
    const burst = async (expect) => {
      const rows = paths.map((p) => state.files.get('share', p));
      const elu = performance.eventLoopUtilization();
      for (let i = 0; i < paths.length; i++) {
        const outcome = await handleGone(mapping, paths[i], rows[i], ctx);
        if (outcome.action !== expect) throw new Error(`${paths[i]}: ${JSON.stringify(outcome)}, expected ${expect}`);
      }
      return (performance.eventLoopUtilization(elu).active * 1000) / paths.length;
    };
    figures.settleUs = await burst('hold');
    clock.advance(SETTLE_MS + MOVE_WINDOW_MS);
    figures.forgetUs = await burst('forget');
    state.close();
    console.log(JSON.stringify(figures));
  } finally {
    rmDir(dir);
  }
}

if (process.argv[2] === '--child') await child(resolve(process.argv[3]));
else await mainIf(import.meta, run);
