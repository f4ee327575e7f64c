import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncError } from '../../src/lib/errors.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import type { Job, State } from '../../src/state/index.js';
import type { Outcome } from '../../src/worker/context.js';
import { WorkerPool, type JobRun, type PoolDeps } from '../../src/worker/pool.js';
import { tempStates } from '../support/state.js';
import { waitFor } from '../support/wait.js';

const t = tempStates();
afterEach(() => t.cleanup());

/** A client the pool's stamper never needs here: no job leaves a stamp. */
const noServer: PoolDeps['client'] = {
  bulk: () => Promise.reject(new Error('no server in this test')),
  annotate: () => Promise.reject(new Error('no server in this test')),
  getAsset: () => Promise.reject(new Error('no server in this test')),
};

function stateWith(paths: string[]): State {
  const state = t.open(join(t.dir(), 'state.db'), { clock: systemClock, queue: { debounceMs: 0, backoffBaseMs: 60_000 } });
  state.jobs.enqueueMany(paths.map((path) => ({ mapping: 'm', path, delayMs: 0 })));
  return state;
}

function paths(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `f${String(i).padStart(3, '0')}`);
}

/** Resolves with `p`, or rejects after `ms`: no test waits for ever. */
function within<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms).unref())]);
}

function pool(state: State, run: PoolDeps['run'], concurrency: number | (() => number) = 4, events: PoolDeps['events'] = {}): WorkerPool {
  return new WorkerPool({ state, client: noServer, clock: systemClock, logger: silentLogger, events, run }, { concurrency, pollMs: 20 });
}

describe('WorkerPool against a fake job', () => {
  it('runs every due job once, and records each job’s deferred writes with its completion', async () => {
    const state = stateWith(paths(60));
    const ran: string[] = [];
    const p = pool(state, async (job: Job, run: JobRun) => {
      ran.push(job.path);
      run.defer(() => state.meta.set(`done:${job.path}`, '1'));
      return { action: 'upload' };
    });
    p.start();
    await within(p.idle());
    await p.stop(1000);
    expect(ran.sort()).toEqual(paths(60));
    expect(state.jobs.counts()).toMatchObject({ queued: 0, running: 0, failed: 0 });
    for (const path of paths(60)) expect(state.meta.get(`done:${path}`)).toBe('1');
  });

  it('never runs more jobs at once than its concurrency, read again while it runs', async () => {
    const state = stateWith(paths(40));
    let slots = 2;
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    const p = pool(
      state,
      async (job) => {
        running += 1;
        most = Math.max(most, running);
        seen.push(running);
        await new Promise((r) => setTimeout(r, 5));
        running -= 1;
        if (job.path === 'f010') slots = 5;
        return { action: 'upload' };
      },
      () => slots,
    );
    p.start();
    await within(p.idle());
    await p.stop(1000);
    expect(most).toBeLessThanOrEqual(5);
    // Two at most before the change; more than two after it.
    expect(seen.slice(0, 8).every((n) => n <= 2)).toBe(true);
    expect(most).toBeGreaterThan(2);
  });

  it('tells a failure only with the verdict the queue recorded', async () => {
    const state = stateWith(['bad', 'flaky']);
    const told: Array<{ code: string; verdict: string; failedInQueue: string[] }> = [];
    const p = pool(
      state,
      async (job): Promise<Outcome> => {
        if (job.path === 'bad') throw new SyncError('TOO_LARGE', 'refused for good', { retry: 'never' });
        throw new SyncError('NETWORK', 'try again', { retry: 'retry' });
      },
      4,
      { failed: (code, verdict) => told.push({ code, verdict, failedInQueue: state.jobs.failed().map((f) => f.path) }) },
    );
    p.start();
    // 'flaky' backs off a minute: wait for both to be told, not for idle.
    for (let i = 0; i < 400 && told.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    await p.stop(1000);
    expect(told.map((x) => x.code).sort()).toEqual(['NETWORK', 'TOO_LARGE']); // each told once
    const bad = told.find((x) => x.code === 'TOO_LARGE');
    const flaky = told.find((x) => x.code === 'NETWORK');
    expect(bad).toMatchObject({ verdict: 'failed' });
    expect(bad!.failedInQueue).toContain('bad');
    expect(flaky).toMatchObject({ verdict: 'retry' });
    expect(state.jobs.pending().find((j) => j.path === 'flaky')).toMatchObject({ state: 'queued', lastCode: 'NETWORK' });
  });

  it('tells a failure the database could not record at once only when it is recorded, with its verdict', async () => {
    const state = stateWith(['bad']);
    const realFail = state.jobs.fail.bind(state.jobs);
    let refusals = 1;
    state.jobs.fail = (job, info) => {
      if (refusals-- > 0) throw new SyncError('STATE_FULL', 'disk full while recording a failure', { retry: 'retry' });
      return realFail(job, info);
    };
    const told: string[] = [];
    const p = pool(
      state,
      async (): Promise<Outcome> => {
        throw new SyncError('TOO_LARGE', 'refused for good', { retry: 'never' });
      },
      4,
      { failed: (_code, verdict) => told.push(verdict) },
    );
    p.start();
    await waitFor(() => told.length > 0, 10_000);
    await p.stop(1000);
    expect(told).toEqual(['failed']);
    expect(state.jobs.failed().map((f) => f.path)).toEqual(['bad']);
  });

  it('gives jobs claimed but not started back at stop, their attempt refunded', async () => {
    const state = stateWith(paths(30));
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((r) => (release = r));
    let started = 0;
    const p = pool(
      state,
      async () => {
        started += 1;
        await blocked;
        return { action: 'upload' };
      },
      2,
    );
    p.start();
    for (let i = 0; i < 400 && started < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const stopped = p.stop(5000);
    release();
    await within(stopped);
    expect(started).toBe(2);
    const left = state.jobs.pending(100);
    expect(left).toHaveLength(28);
    expect(left.every((j) => j.state === 'queued' && j.attempts === 0)).toBe(true);
  });

  it('starts no claimed job before the batch that claimed it is on disk (its asset id must outlive a power cut)', async () => {
    const state = stateWith(paths(12));
    const syncs: Array<() => void> = [];
    const ran = new Set<string>();
    const p = new WorkerPool(
      {
        state,
        client: noServer,
        clock: systemClock,
        logger: silentLogger,
        syncWrites: () => new Promise<void>((resolve) => syncs.push(resolve)),
        run: async (job: Job) => {
          ran.add(job.path);
          return { action: 'upload' };
        },
      },
      { concurrency: 1, maxAhead: 1, pollMs: 20 },
    );
    p.start();
    // The first claim has no outcomes with it and commits at FULL; the next ones go with the
    // outcomes, at NORMAL, and their fsync is held here.
    await waitFor(() => syncs.length > 0, 20_000);
    const claimedNotRun = () => state.jobs.pending(100).filter((j) => j.state === 'running' && !ran.has(j.path));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    const waiting = claimedNotRun().map((j) => j.path);
    expect(waiting.length).toBeGreaterThan(0);
    // A few turns of the event loop later, still none of them has run.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(waiting.filter((path) => ran.has(path))).toEqual([]);
    // From here every sync ends at once.
    const release = setInterval(() => {
      for (const end of syncs.splice(0)) end();
    }, 5);
    try {
      await within(p.idle());
    } finally {
      clearInterval(release);
    }
    await p.stop(1000);
    expect([...ran].sort()).toEqual(paths(12));
  });
});
