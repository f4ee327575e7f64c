import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { FakeClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import type { Action } from '../../src/worker/context.js';
import { guardKey } from '../../src/worker/deleteguard.js';
import { waitFor, World } from '../support/world.js';

/**
 * A mass deletion whose events straggle: the watcher reports its removals in
 * two batches, a few files first and the rest more than a move window later.
 * Judged as they came, the first few were under the guard's share and were
 * deleted; the rest were then held. Weighed together, all of them are held.
 * The runtime runs on a fake clock over the real state database and test server.
 */
let world: World | undefined;
let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.pool.stop(5000);
  await rt?.close();
  rt = undefined;
  await world?.close();
  world = undefined;
});

const MOVE_WINDOW_MS = 800;
const SETTLE_MS = 10_000;

describe('a mass deletion reported in two batches', () => {
  it('is weighed as a whole: nothing deleted, every file held by the guard', { timeout: 60_000 }, async () => {
    world = await World.create({ mapping: { deletes: 'delete' }, sync: { moveWindowMs: MOVE_WINDOW_MS } });
    const w = world;
    const names = Array.from({ length: 30 }, (_, i) => `many/f${i}.txt`);
    for (const n of names) w.write(n, `content of ${n}`);
    expect((await w.run(['once'])).code).toBe(0);

    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    expect(config.deleteGuard).toMatchObject({ enabled: true, minFiles: 20, maxShare: 0.5, settleMs: SETTLE_MS });
    const clock = new FakeClock(Date.now());
    const done: Array<{ action: Action; path: string }> = [];
    rt = openRuntime(config, { logger: silentLogger, clock, events: { action: (action, _m, path) => done.push({ action, path }) } });
    const { state, pool } = rt;
    await rt.rescan(config.mappings[0]!);
    pool.start();
    const runs = (paths: string[]): number => done.filter((d) => paths.includes(d.path)).length;
    /** Removes the files and reports them as the watcher does; resolves once each was looked at `times` times in all. */
    const removed = async (paths: string[], times: number): Promise<void> => {
      for (const p of paths) w.rm(p);
      state.jobs.enqueueMany(paths.map((path) => ({ mapping: 'share', path, reason: 'unlink', delayMs: 0 })));
      pool.wake();
      await waitFor(
        () => runs(paths) >= times * paths.length,
        20_000,
        () => JSON.stringify(done),
      );
    };

    const first = names.slice(0, 3);
    const rest = names.slice(3, 25);
    await removed(first, 1);
    // The first batch's move window ends before the rest is reported.
    clock.advance(MOVE_WINDOW_MS + 200);
    pool.wake();
    await waitFor(
      () => runs(first) >= 6,
      20_000,
      () => JSON.stringify(done),
    );
    expect(done.filter((d) => first.includes(d.path)).map((d) => d.action)).toEqual(Array(6).fill('hold'));

    await removed(rest, 1);
    // Long after both batches: the deletion has settled and is weighed as one.
    clock.advance(SETTLE_MS + MOVE_WINDOW_MS);
    pool.wake();
    await waitFor(
      () => state.jobs.counts().queued === 0 && state.jobs.counts().running === 0,
      20_000,
      () => JSON.stringify(done),
    );

    expect(done.filter((d) => d.action !== 'hold')).toEqual([]);
    expect(w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0).toBe(0);
    expect(w.inspect().assets.filter((a) => a.deleted)).toEqual([]);
    expect(state.files.missingPaths('share').sort()).toEqual([...first, ...rest].sort());
    expect(state.meta.get(guardKey('share'))).toMatch(/^25 of 30 files/);
  });

  it('a trickle that never pauses is weighed in parts: a file waits ten settle periods at most', { timeout: 60_000 }, async () => {
    world = await World.create({ mapping: { deletes: 'delete' }, sync: { moveWindowMs: MOVE_WINDOW_MS } });
    const w = world;
    const names = Array.from({ length: 30 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);
    for (const n of names) w.write(n, `content of ${n}`);
    expect((await w.run(['once'])).code).toBe(0);

    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const clock = new FakeClock(Date.now());
    const deleted: string[] = [];
    rt = openRuntime(config, { logger: silentLogger, clock, events: { action: (a, _m, path) => a === 'delete' && deleted.push(path) } });
    const { state, pool } = rt;
    await rt.rescan(config.mappings[0]!);
    pool.start();
    /** Every job due now has run. */
    const caughtUp = () =>
      waitFor(
        () => state.jobs.pending(1000).every((j) => j.state === 'queued' && j.runAt > clock.now()),
        20_000,
        () => JSON.stringify(state.jobs.pending(1000)),
      );
    // One file every 0.9 settle periods: the mapping never sees a quiet settle period.
    const stepMs = 0.9 * SETTLE_MS;
    const steps = 12;
    const deletedAt: number[] = [];
    for (let i = 0; i < steps; i++) {
      w.rm(names[i]!);
      state.jobs.enqueueMany([{ mapping: 'share', path: names[i]!, reason: 'unlink', delayMs: 0 }]);
      pool.wake();
      await waitFor(() => state.files.get('share', names[i]!)?.missingSince != null, 20_000);
      clock.advance(stepMs);
      pool.wake();
      await caughtUp();
      deletedAt.push(deleted.length);
    }
    // Nothing went while the trickle was young; once the first file had waited ten settle periods it went,
    // the guard passing (12 of 30 gone), and the files after it still wait.
    expect(deletedAt).toEqual([...Array(steps - 1).fill(0), 1]);
    expect(deleted).toEqual([names[0]]);
    expect(state.meta.get(guardKey('share'))).toBeUndefined();
  });

  it('a verdict recorded before the last file was marked is replaced by the live count', { timeout: 60_000 }, async () => {
    world = await World.create({ mapping: { deletes: 'delete' }, sync: { moveWindowMs: MOVE_WINDOW_MS } });
    const w = world;
    const names = Array.from({ length: 30 }, (_, i) => `many/f${i}.txt`);
    for (const n of names) w.write(n, `content of ${n}`);
    expect((await w.run(['once'])).code).toBe(0);

    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const clock = new FakeClock(Date.now());
    rt = openRuntime(config, { logger: silentLogger, clock });
    const { state, pool } = rt;
    await rt.rescan(config.mappings[0]!);
    pool.start();
    const idle = () =>
      waitFor(
        () => state.jobs.pending(1000).every((j) => j.state === 'queued' && j.runAt > clock.now()),
        20_000,
        () => JSON.stringify(state.jobs.pending(1000)),
      );
    const remove = async (paths: string[]): Promise<void> => {
      for (const p of paths) w.rm(p);
      state.jobs.enqueueMany(paths.map((path) => ({ mapping: 'share', path, reason: 'unlink', delayMs: 0 })));
      pool.wake();
      await idle();
      clock.advance(MOVE_WINDOW_MS + 200);
      pool.wake();
      await idle();
    };
    await remove(names.slice(0, 24));
    expect(state.meta.get(guardKey('share'))).toMatch(/^24 of 30 files/);
    // The deletion's last file is marked after the first verdict was recorded (its event came late).
    await remove([names[24]!]);
    expect(state.meta.get(guardKey('share'))).toMatch(/^25 of 30 files/);
    expect(w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0).toBe(0);
  });
});
