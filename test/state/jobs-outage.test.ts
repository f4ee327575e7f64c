import { afterEach, describe, expect, it } from 'vitest';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

describe('queue: outages and server pauses', () => {
  it('holds every job no longer than maxPauseMs, whatever the server asked', () => {
    const { clock, q } = t.fresh({ maxPauseMs: 60_000 });
    q.pauseAll(clock.now() + 86_400_000);
    expect(q.pausedUntil()).toBe(clock.now() + 60_000);
    q.enqueueMany([{ mapping: 'm', path: 'a', delayMs: 0 }]);
    clock.advance(60_000);
    const [job] = q.claim('w', 1);
    expect(job?.path).toBe('a');
    // A 429 with a day's Retry-After from a worker: the same cap.
    expect(q.fail(job!, { message: '429', code: 'RATE_LIMITED', retry: 'pause', retryAfterMs: 86_400_000 })).toBe('retry');
    expect(q.pausedUntil()).toBe(clock.now() + 60_000);
  });

  it('revives rows an earlier version failed for Squidex being away, not the ones failed for the file', () => {
    const { clock, q, state } = t.fresh({ maxAttempts: 1 });
    q.enqueueMany(['net', 'auth', 'big', 'new-net'].map((path) => ({ mapping: 'm', path, delayMs: 0 })));
    const jobs = q.claim('w', 4);
    const byPath = new Map(jobs.map((j) => [j.path, j]));
    q.fail(byPath.get('net')!, { message: 'connection refused', code: 'NETWORK', retry: 'retry' });
    q.fail(byPath.get('auth')!, { message: 'refused', code: 'AUTH_FAILED', retry: 'never' });
    q.fail(byPath.get('big')!, { message: 'too large', code: 'TOO_LARGE', retry: 'never' });
    // A file that by itself kept failing while Squidex answered: failed by this version, it stays.
    q.fail(byPath.get('new-net')!, { message: 'HTTP 500', code: 'SERVER_ERROR', retry: 'retry' });
    expect(q.counts().failed).toBe(4);
    // What the previous schema wrote: no fail_kind at all.
    state.db.prepare(`UPDATE jobs SET fail_kind = NULL WHERE path IN ('net', 'auth', 'big')`).run();
    clock.advance(1000);
    expect(q.reviveLegacyFailures()).toBe(2);
    expect(
      q
        .failed()
        .map((f) => f.path)
        .sort(),
    ).toEqual(['big', 'new-net']);
    const revived = q.claim('w', 10);
    expect(revived.map((j) => j.path).sort()).toEqual(['auth', 'net']);
    expect(revived.every((j) => j.attempts === 1)).toBe(true); // fresh attempts
    expect(state.check()).toEqual([]);
  });
});
