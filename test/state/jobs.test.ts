import { afterEach, describe, expect, it, vi } from 'vitest';
import { tempStates } from '../support/state.js';
import { backoffDelay, createEnqueueBuffer, DEFAULT_QUEUE_OPTIONS } from '../../src/state/jobs.js';

const t = tempStates();
afterEach(() => t.cleanup());

describe('enqueue: coalescing and max wait', () => {
  it('a burst for one path leaves one job, run after the debounce from the last event', () => {
    const { clock, q } = t.fresh();
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) {
      q.enqueue('m', 'a.png', 'change');
      clock.advance(200);
    }
    expect(q.counts()).toMatchObject({ queued: 1, running: 0, failed: 0 });
    expect(q.nextRunAt()).toBe(t0 + 800 + 1000);
    expect(q.claim('w')).toEqual([]); // still inside the debounce
    clock.set(t0 + 1800);
    const [job] = q.claim('w');
    expect(job).toMatchObject({ mapping: 'm', path: 'a.png', generation: 5, attempts: 1, reason: 'change' });
  });

  it('a path written continuously still runs maxWait after its first event', () => {
    const { clock, q } = t.fresh({ debounceMs: 1000, maxWaitMs: 5000 });
    const t0 = clock.now();
    for (let i = 0; i < 100 && q.claim('w').length === 0; i++) {
      q.enqueue('m', 'log.txt', 'change');
      clock.advance(500);
    }
    expect(clock.now()).toBe(t0 + 5000); // claimed at first event + maxWait although events never paused
  });

  it('enqueueMany coalesces in one transaction', () => {
    const { clock, q } = t.fresh();
    q.enqueueMany(Array.from({ length: 1000 }, (_, i) => ({ mapping: 'm', path: `p${i % 10}`, reason: 'rescan' })));
    expect(q.counts().queued).toBe(10);
    clock.advance(1000);
    expect(q.claim('w', 100)).toHaveLength(10);
  });

  it('a weak event (tags only) leaves a queued job its reason, and takes a new or running one', () => {
    const { clock, q } = t.fresh();
    q.enqueue('m', 'changed.png', 'rescan');
    q.enqueueMany([
      { mapping: 'm', path: 'changed.png', reason: 'annotate', delayMs: 0, weak: true },
      { mapping: 'm', path: 'tags-only.png', reason: 'annotate', delayMs: 0, weak: true },
    ]);
    clock.advance(1000);
    const claimed = q.claim('w', 10);
    expect(claimed.map((j) => [j.path, j.reason]).sort()).toEqual([
      ['changed.png', 'rescan'],
      ['tags-only.png', 'annotate'],
    ]);
    // Running: the run may have read the old settings, so the rerun after it is for the tags.
    q.enqueueMany([{ mapping: 'm', path: 'changed.png', reason: 'annotate', delayMs: 0, weak: true }]);
    q.complete(claimed.find((j) => j.path === 'changed.png')!);
    expect(
      q
        .pending(10)
        .filter((j) => j.state === 'queued')
        .map((j) => [j.path, j.reason]),
    ).toEqual([['changed.png', 'annotate']]);
  });

  it('keeps mappings apart', () => {
    const { q } = t.fresh();
    q.enqueue('a', 'x');
    q.enqueue('b', 'x');
    expect(q.counts().queued).toBe(2);
  });
});

describe('claim and complete', () => {
  it('claims due jobs in run order, stamps a unique token, lease and attempt', () => {
    const { clock, q, state } = t.fresh({ debounceMs: 0, leaseMs: 60_000 });
    q.enqueue('m', 'b');
    clock.advance(1);
    q.enqueue('m', 'a');
    const jobs = q.claim('w1', 10);
    expect(jobs.map((j) => j.path).sort()).toEqual(['a', 'b']);
    expect(jobs.every((j) => j.token.startsWith('w1:'))).toBe(true);
    const row = state.db.prepare(`SELECT lease_until AS l, attempts FROM jobs WHERE path = 'a'`).get() as { l: number; attempts: number };
    expect(row).toEqual({ l: clock.now() + 60_000, attempts: 1 });
    expect(q.claim('w2', 10)).toEqual([]); // nothing is claimed twice
    expect(q.counts()).toMatchObject({ running: 2, queued: 0 });
  });

  it('complete deletes the job', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    const [job] = q.claim('w');
    expect(q.complete(job)).toBe(true);
    expect(q.counts()).toMatchObject({ queued: 0, running: 0, failed: 0 });
    expect(q.nextRunAt()).toBeNull();
  });

  it('an event during the run re-queues the path exactly once, never a second concurrent run', () => {
    const { clock, q } = t.fresh({ debounceMs: 100 });
    q.enqueue('m', 'a');
    clock.advance(100);
    const [job] = q.claim('w');
    q.enqueue('m', 'a', 'change');
    q.enqueue('m', 'a', 'change');
    clock.advance(1000);
    expect(q.claim('w2')).toEqual([]); // still running: no second claim
    expect(q.complete(job)).toBe(true);
    expect(q.counts()).toMatchObject({ queued: 1, running: 0 });
    const [again] = q.claim('w');
    expect(again).toMatchObject({ path: 'a', attempts: 1, generation: 3 });
    expect(q.complete(again)).toBe(true);
    expect(q.counts().queued).toBe(0);
  });

  it('a stale token cannot complete or fail a job someone else claimed', () => {
    const { clock, q } = t.fresh({ debounceMs: 0, leaseMs: 1000 });
    q.enqueue('m', 'a');
    const [old] = q.claim('w');
    clock.advance(1001);
    expect(q.sweepLeases()).toBe(1);
    const [fresh] = q.claim('w'); // same worker name: the token still differs per claim
    expect(fresh.token).not.toBe(old.token);
    expect(q.complete(old)).toBe(false);
    expect(q.fail(old, { message: 'x', retry: 'retry' })).toBe('stale');
    expect(q.complete(fresh)).toBe(true);
    expect(q.complete(fresh)).toBe(false); // twice is stale too
  });

  it('completeMany finishes a batch in one go', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    q.enqueueMany([1, 2, 3].map((i) => ({ mapping: 'm', path: `p${i}` })));
    const jobs = q.claim('w', 3);
    expect(q.completeMany([...jobs, jobs[0]])).toEqual([true, true, true, false]);
    expect(q.counts().queued + q.counts().running).toBe(0);
  });
});

describe('failure, back-off, pause', () => {
  it('backs off exponentially with jitter, capped', () => {
    const o = { backoffBaseMs: 2000, backoffMaxMs: 600_000 };
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, { ...o, random: () => 0 }))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, { ...o, random: () => 0.999999 }))).toEqual([2000, 4000, 8000, 16000]);
    expect(backoffDelay(30, { ...o, random: () => 0 })).toBe(300_000);
    expect(backoffDelay(30, { ...o, random: () => 0.999999 })).toBe(600_000);
    expect(backoffDelay(10_000, { ...o, random: () => 0.5 })).toBe(450_000);
  });

  it('a retryable failure re-queues with growing delays, then fails after maxAttempts keeping the last error', () => {
    const { clock, q } = t.fresh({ debounceMs: 0, maxAttempts: 4, backoffBaseMs: 1000, backoffMaxMs: 3000 });
    q.enqueue('m', 'a');
    const delays: number[] = [];
    for (let i = 1; i <= 4; i++) {
      const [job] = q.claim('w');
      expect(job.attempts).toBe(i);
      const out = q.fail(job, { message: `boom ${i}`, code: 'HTTP_500', retry: 'retry' });
      if (out === 'failed') break;
      expect(out).toBe('retry');
      const next = q.nextRunAt()!;
      delays.push(next - clock.now());
      expect(q.claim('w')).toEqual([]);
      clock.set(next);
    }
    expect(delays).toEqual([750, 1500, 2250]); // 3/4 of 1000, 2000, then the 3000 cap
    expect(q.counts()).toMatchObject({ queued: 0, failed: 1 });
    expect(q.failed()).toEqual([{ mapping: 'm', path: 'a', attempts: 4, lastError: 'boom 4', code: 'HTTP_500', failedAt: clock.now() }]);
  });

  it('a per-job Retry-After lengthens the back-off', () => {
    const { clock, q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    const [job] = q.claim('w');
    expect(q.fail(job, { message: 'slow down', retry: 'retry', retryAfterMs: 120_000 })).toBe('retry');
    expect(q.nextRunAt()).toBe(clock.now() + 120_000);
  });

  it('retry "never" fails at once', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    const [job] = q.claim('w');
    expect(q.fail(job, { message: 'bad request', code: 'HTTP_400', retry: 'never' })).toBe('failed');
    expect(q.failed()[0]).toMatchObject({ path: 'a', attempts: 1, code: 'HTTP_400' });
  });

  it('retry "never" for content that changed during the run gets one more look', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    const [job] = q.claim('w');
    q.enqueue('m', 'a', 'change');
    expect(q.fail(job, { message: 'bad request', retry: 'never' })).toBe('retry');
    expect(q.counts().queued).toBe(1);
  });

  it('pause delays every job without consuming the attempt', () => {
    const { clock, q } = t.fresh({ debounceMs: 0, maxAttempts: 2 });
    q.enqueueMany(['a', 'b', 'c'].map((path) => ({ mapping: 'm', path })));
    const [job] = q.claim('w');
    for (let i = 0; i < 5; i++) {
      expect(q.fail(job.attempts ? job : job, { message: '429', retry: 'pause', retryAfterMs: 30_000 })).toBe('retry');
      expect(q.pausedUntil()).toBe(clock.now() + 30_000);
      expect(q.nextRunAt()).toBe(clock.now() + 30_000);
      expect(q.claim('w', 10)).toEqual([]); // every job waits, not only the one that hit the 429
      clock.advance(30_000);
      const again = q.claim('w', 1);
      expect(again).toHaveLength(1);
      expect(again[0].attempts).toBe(1); // attempt refunded each time: never reaches maxAttempts
      Object.assign(job, again[0]);
    }
    expect(q.counts().failed).toBe(0);
  });

  it('a pause the server did not size grows from backoffBaseMs to defaultPauseMs while refusals follow each other; a success resets it', () => {
    const { clock, q } = t.fresh({ debounceMs: 0, backoffBaseMs: 1000, defaultPauseMs: 6000 });
    q.enqueueMany(['a', 'b'].map((path) => ({ mapping: 'm', path })));
    const pauses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const [job] = q.claim('w', 1);
      expect(q.fail(job, { message: '429 quota', retry: 'pause' })).toBe('retry');
      pauses.push(q.pausedUntil() - clock.now());
      clock.set(q.pausedUntil());
    }
    expect(pauses).toEqual([1000, 2000, 4000, 6000, 6000]);
    const [ok] = q.claim('w', 1);
    expect(q.complete(ok)).toBe(true);
    const [next] = q.claim('w', 1);
    q.fail(next, { message: '429 quota', retry: 'pause' });
    expect(q.pausedUntil() - clock.now()).toBe(1000);
  });

  it('pauseAll never shortens a pause and resumeAll lifts it', () => {
    const { clock, q } = t.fresh({ debounceMs: 0 });
    q.pauseAll(clock.now() + 10_000);
    q.pauseAll(clock.now() + 5_000);
    expect(q.pausedUntil()).toBe(clock.now() + 10_000);
    q.enqueue('m', 'a');
    expect(q.claim('w')).toEqual([]);
    q.resumeAll();
    expect(q.claim('w')).toHaveLength(1);
  });

  it('an event does not cut a back-off short', () => {
    const { clock, q } = t.fresh({ debounceMs: 10, backoffBaseMs: 60_000 });
    q.enqueue('m', 'a');
    clock.advance(10);
    const [job] = q.claim('w');
    q.fail(job, { message: 'x', retry: 'retry' });
    const next = q.nextRunAt()!;
    q.enqueue('m', 'a', 'change');
    expect(q.nextRunAt()).toBe(next);
  });
});

describe('failed jobs, re-queue, reports', () => {
  function failOne(q: ReturnType<typeof t.fresh>['q'], path: string) {
    q.enqueue('m', path);
    const [job] = q.claim('w');
    q.fail(job, { message: 'nope', code: 'X', retry: 'never' });
  }

  it('requeueFailed revives all or only the named paths, with fresh attempts', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    for (const p of ['a', 'b', 'c']) failOne(q, p);
    expect(
      q.requeueFailed([
        { mapping: 'm', path: 'b' },
        { mapping: 'm', path: 'zzz' },
      ]),
    ).toBe(1);
    expect(
      q
        .failed()
        .map((f) => f.path)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(q.claim('w')[0]).toMatchObject({ path: 'b', attempts: 1 });
    expect(q.requeueFailed()).toBe(2);
    expect(q.counts()).toMatchObject({ failed: 0, queued: 2, running: 1 });
  });

  it('a watcher event revives a failed path; a rescan does not (crash-loop guard)', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    failOne(q, 'a');
    q.enqueue('m', 'a', 'rescan');
    expect(q.counts()).toMatchObject({ failed: 1, queued: 0 });
    q.enqueue('m', 'a', 'change');
    expect(q.counts()).toMatchObject({ failed: 0, queued: 1 });
    expect(q.claim('w')[0].attempts).toBe(1);
  });

  it('pending lists running then queued jobs with attempts, next run and last error', () => {
    const { clock, q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a', 'add');
    q.enqueue('m', 'b', 'change');
    const [a] = q.claim('w');
    q.fail(a, { message: 'timeout', code: 'ETIMEDOUT', retry: 'retry' });
    const pend = q.pending();
    expect(pend).toHaveLength(2);
    expect(pend.find((p) => p.path === 'a')).toMatchObject({
      state: 'queued',
      attempts: 1,
      lastError: 'timeout',
      lastCode: 'ETIMEDOUT',
      reason: 'add',
    });
    expect(pend.find((p) => p.path === 'b')).toMatchObject({ state: 'queued', attempts: 0, runAt: clock.now() });
    expect(q.counts()).toEqual({ queued: 2, running: 0, failed: 0, due: 1 });
  });
});

describe('recovery and leases', () => {
  it('at open, running rows go back to queued, or to failed when their attempts are spent', () => {
    const { clock, file, state } = t.fresh({ debounceMs: 0, maxAttempts: 2 });
    const q = state.jobs;
    q.enqueueMany(['a', 'b'].map((path) => ({ mapping: 'm', path })));
    q.claim('w', 2);
    state.close(); // the "crash": rows stay running
    const s2 = t.open(file, { clock, queue: { debounceMs: 0, maxAttempts: 2 } });
    expect(s2.jobs.counts()).toMatchObject({ queued: 2, running: 0 });
    expect(s2.check()).toEqual([]);
    // the poison path crashes the process again: second claim spends the last attempt
    s2.jobs.claim('w', 2);
    s2.close();
    const s3 = t.open(file, { clock, queue: { debounceMs: 0, maxAttempts: 2 } });
    expect(s3.jobs.counts()).toMatchObject({ queued: 0, running: 0, failed: 2 });
    expect(s3.jobs.failed()[0]).toMatchObject({ code: 'CRASHED', attempts: 2 });
    expect(s3.jobs.failed()[0].lastError).toMatch(/stopped while running/);
    expect(s3.check()).toEqual([]);
  });

  it("recover: false leaves a live daemon's running jobs alone (status beside the daemon)", () => {
    const { clock, file, q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    q.claim('w');
    const side = t.open(file, { clock, recover: false });
    expect(side.jobs.counts().running).toBe(1);
  });

  it('sweepLeases frees only expired leases', () => {
    const { clock, q } = t.fresh({ debounceMs: 0, leaseMs: 1000 });
    q.enqueue('m', 'a');
    q.claim('w');
    clock.advance(500);
    q.enqueue('m', 'b');
    q.claim('w');
    clock.advance(600);
    expect(q.sweepLeases()).toBe(1);
    expect(q.pending().map((p) => [p.path, p.state])).toEqual([
      ['b', 'running'],
      ['a', 'queued'],
    ]);
  });

  it('a clock that jumped back does not strand jobs scheduled in the "future"', () => {
    const { clock, file, state } = t.fresh({ debounceMs: 0, backoffMaxMs: 60_000 });
    clock.advance(24 * 3600_000);
    state.jobs.enqueue('m', 'a');
    state.close();
    clock.advance(-24 * 3600_000);
    const s2 = t.open(file, { clock, queue: { backoffMaxMs: 60_000 } });
    expect(s2.jobs.nextRunAt()).toBe(clock.now() + Math.max(60_000, DEFAULT_QUEUE_OPTIONS.maxWaitMs));
  });
});

describe('check', () => {
  it('is clean for a healthy queue and names broken invariants', () => {
    const { q, state } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    q.enqueue('m', 'b');
    q.claim('w');
    expect(state.check()).toEqual([]);
    state.db.exec(`UPDATE jobs SET token = NULL WHERE state = 'running'`);
    state.db.exec(`UPDATE jobs SET state = 'failed' WHERE path = 'b'`);
    const problems = state.check();
    expect(problems.some((p) => /running without token/.test(p))).toBe(true);
    expect(problems.some((p) => /failed without an error/.test(p))).toBe(true);
  });
});

describe('worker helpers', () => {
  it('claim, nextRunAt and countQueued skip paused mappings', () => {
    const { clock, q } = t.fresh({ debounceMs: 0 });
    q.enqueue('paused', 'a');
    clock.advance(10);
    q.enqueue('live', 'b');
    const ex = { excludeMappings: ['paused'] };
    expect(q.nextRunAt(ex)).toBe(clock.now());
    expect(q.countQueued(ex)).toBe(1);
    expect(q.claim('w', 10, ex).map((j) => j.path)).toEqual(['b']);
    expect(q.nextRunAt(ex)).toBeNull();
    expect(q.countQueued(ex)).toBe(0);
    expect(q.countQueued()).toBe(1);
    expect(Object.fromEntries(q.countsByMapping())).toEqual({
      paused: { queued: 1, running: 0, failed: 0 },
      live: { queued: 0, running: 1, failed: 0 },
    });
  });

  it('complete with rerunAfterMs keeps the path queued for a later look, with fresh attempts', () => {
    const { clock, q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'gone.png', 'unlink');
    const [job] = q.claim('w');
    expect(q.complete(job, { rerunAfterMs: 5000 })).toBe(true);
    expect(q.nextRunAt()).toBe(clock.now() + 5000);
    expect(q.complete(job, { rerunAfterMs: 5000 })).toBe(false); // stale
    clock.advance(5000);
    expect(q.claim('w')[0]).toMatchObject({ path: 'gone.png', attempts: 1 });
  });

  it('release gives an aborted job back at once without using the attempt', () => {
    const { q } = t.fresh({ debounceMs: 0 });
    q.enqueue('m', 'a');
    const [job] = q.claim('w');
    expect(q.release(job)).toBe(true);
    expect(q.release(job)).toBe(false);
    expect(q.claim('w')[0].attempts).toBe(1);
  });
});

describe('enqueue buffer', () => {
  it('coalesces events in memory and writes them in one transaction', () => {
    const { q } = t.fresh();
    const buf = createEnqueueBuffer(q, { maxItems: 10_000 });
    for (let i = 0; i < 10_000; i++) buf.add('m', `p${i % 100}`, i % 2 ? 'change' : 'add');
    expect(buf.size).toBe(100);
    expect(q.counts().queued).toBe(0);
    buf.close();
    expect(q.counts().queued).toBe(100);
    expect(q.pending(1)[0].reason).toBe('add'); // the latest event's reason wins
  });

  it('writes at once when maxItems distinct paths are waiting, and after flushMs otherwise', async () => {
    const { q } = t.fresh();
    const buf = createEnqueueBuffer(q, { maxItems: 3, flushMs: 5 });
    try {
      buf.add('m', 'a');
      buf.add('m', 'b');
      buf.add('m', 'c');
      expect(q.counts().queued).toBe(3);
      buf.add('m', 'd');
      for (let i = 0; i < 100 && q.counts().queued < 4; i++) await new Promise((r) => setTimeout(r, 5));
      expect(q.counts().queued).toBe(4);
    } finally {
      buf.close();
    }
  });

  it('keeps events when a write fails and reports the error', () => {
    let fail = true;
    const written: string[] = [];
    const errors: unknown[] = [];
    const buf = createEnqueueBuffer(
      {
        enqueueMany: (items) => {
          if (fail) throw new Error('disk full');
          written.push(...items.map((i) => i.path));
        },
      },
      { onError: (e) => errors.push(e) },
    );
    buf.add('m', 'a');
    buf.flush();
    expect(errors).toHaveLength(1);
    expect(buf.size).toBe(1);
    fail = false;
    buf.close();
    expect(written).toEqual(['a']);
  });

  // Issue 18 §4: with the disk full, every event past maxItems buffered paths tried the
  // whole failing write again and logged an error: thousands of both per burst.
  it('while writes fail, backs off instead of writing per event, and reports the error at most once a minute', async () => {
    vi.useFakeTimers();
    let fail = true;
    let writes = 0;
    const written = new Set<string>();
    const reports: number[] = [];
    const recovered: Array<[number, boolean]> = [];
    const buf = createEnqueueBuffer(
      {
        enqueueMany: (items) => {
          writes += 1;
          if (fail) throw new Error('SQLITE_FULL: database or disk is full');
          for (const i of items) written.add(i.path);
        },
      },
      { maxItems: 10, onError: (_e, n) => reports.push(n), onRecovered: (n, dropped) => recovered.push([n, dropped]) },
    );
    try {
      for (let i = 0; i < 5000; i++) buf.add('m', `burst${i}`);
      expect(writes).toBe(1);
      expect(reports).toEqual([1]);
      // Five minutes of a full disk, an event every second.
      for (let s = 0; s < 300; s++) {
        buf.add('m', `late${s}`);
        await vi.advanceTimersByTimeAsync(1000);
      }
      expect(writes).toBeLessThan(50); // the back-off reaches 10 s between tries
      expect(reports.length).toBeLessThanOrEqual(6); // the first, then once a minute
      expect(reports.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(writes); // each report counts the tries since the last
      expect(reports.slice(1).every((n) => n > 1)).toBe(true);
      expect(buf.size).toBe(5300);
      fail = false;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(written.size).toBe(5300);
      expect(recovered).toEqual([[writes - 1, false]]);
    } finally {
      buf.close();
      vi.useRealTimers();
    }
  });

  it('drops what it holds past maxPending while writes fail, and says so when they work again', async () => {
    vi.useFakeTimers();
    let fail = true;
    const recovered: Array<[number, boolean]> = [];
    const buf = createEnqueueBuffer(
      {
        enqueueMany: () => {
          if (fail) throw new Error('disk full');
        },
      },
      { maxItems: 10, maxPending: 100, onRecovered: (n, dropped) => recovered.push([n, dropped]) },
    );
    try {
      for (let i = 0; i < 250; i++) buf.add('m', `p${i}`);
      expect(buf.size).toBeLessThanOrEqual(100);
      fail = false;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(buf.size).toBe(0);
      expect(recovered).toEqual([[1, true]]);
    } finally {
      buf.close();
      vi.useRealTimers();
    }
  });
});

describe('asset hint: the id a new file is uploaded under', () => {
  it('stays the same across retries and crashes of one job, and is new after the job completed', () => {
    const { clock, q } = t.fresh({ backoffBaseMs: 10, backoffMaxMs: 10 });
    q.enqueueMany([{ mapping: 'm', path: 'a.png', delayMs: 0 }]);
    const [first] = q.claim('w');
    expect(first!.assetHint).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // A failed run may have reached the server: the retry must upsert the same id.
    q.fail(first!, { message: 'timeout', retry: 'retry' });
    clock.advance(1000);
    const [retry] = q.claim('w');
    expect(retry!.assetHint).toBe(first!.assetHint);
    // So must the run after a crash.
    q.recover();
    const [afterCrash] = q.claim('w');
    expect(afterCrash!.assetHint).toBe(first!.assetHint);
    // Completed with a rerun (file changed during the upload): its synced row holds the id now.
    expect(q.complete(afterCrash!, { rerunAfterMs: 0 })).toBe(true);
    const [rerun] = q.claim('w');
    expect(rerun!.assetHint).not.toBe(first!.assetHint);
    // Two jobs never share one.
    q.enqueueMany([{ mapping: 'm', path: 'b.png', delayMs: 0 }]);
    const [other] = q.claim('w');
    expect(other!.path).toBe('b.png');
    expect(other!.assetHint).not.toBe(rerun!.assetHint);
  });
});
