/** One 'abort' listener per signal, however many requests and waits listen to it (lib/abort.ts). */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { forgetAbort, untilAborted, whenAborted } from '../../src/lib/abort.js';
import { startDeadline } from '../../src/squidex/deadline.js';
import { UploadGate } from '../../src/squidex/gate.js';
import { AdaptiveLimiter, type Ticket } from '../../src/squidex/limiter.js';

const listeners = (signal: AbortSignal): number => getEventListeners(signal, 'abort').length;

describe('whenAborted', () => {
  it('calls each callback once at the abort, in the order they came, except those forgotten', () => {
    const ac = new AbortController();
    const calls: string[] = [];
    const a = (): void => void calls.push('a');
    const b = (): void => void calls.push('b');
    const c = (): void => void calls.push('c');
    whenAborted(ac.signal, a);
    whenAborted(ac.signal, b);
    whenAborted(ac.signal, c);
    forgetAbort(ac.signal, b);
    expect(listeners(ac.signal)).toBe(1);
    ac.abort();
    ac.abort();
    expect(calls).toEqual(['a', 'c']);
    // As with addEventListener, a signal that has aborted calls nothing added later.
    whenAborted(ac.signal, a);
    expect(calls).toEqual(['a', 'c']);
  });

  it('untilAborted: many waits on one signal hold one listener while they wait and no callback after', async () => {
    const ac = new AbortController();
    const works = Array.from({ length: 30 }, (_, i) => untilAborted(Promise.resolve(i), ac.signal));
    expect(listeners(ac.signal)).toBe(1);
    expect(await Promise.all(works)).toHaveLength(30);
    const pending = untilAborted(new Promise<never>(() => undefined), ac.signal);
    ac.abort(new Error('stopping'));
    await expect(pending).rejects.toThrow('stopping');
  });

  it('a request deadline on a shared signal listens through it, and a cancel still reaches it', () => {
    const ac = new AbortController();
    const ds = Array.from({ length: 20 }, () => startDeadline(60_000, () => new Error('late'), ac.signal));
    expect(listeners(ac.signal)).toBeLessThanOrEqual(1);
    for (const d of ds.slice(1)) d.clear();
    ac.abort(new Error('cancelled'));
    expect(ds[0]!.reason?.message).toBe('cancelled');
    expect(ds.slice(1).every((d) => d.reason === undefined)).toBe(true);
    ds[0]!.clear();
  });
});

describe('waiting in line on a signal shared by many requests', () => {
  it('the gate: admitted waiters leave nothing on the signal, a stop still takes the rest out of line', async () => {
    const ac = new AbortController();
    const gate = new UploadGate(1);
    const first = await gate.enter(ac.signal);
    const waiting = Array.from({ length: 20 }, () => gate.enter(ac.signal));
    expect(listeners(ac.signal)).toBe(1);
    // Let 10 of them in, one after another.
    let ticket: Ticket = first;
    for (let i = 0; i < 10; i++) {
      ticket.done('sample');
      ticket = await waiting[i]!;
    }
    ac.abort(new Error('stopping'));
    const rest = await Promise.allSettled(waiting.slice(10));
    expect(rest.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'stopping')).toBe(true);
    expect(gate.waiting).toBe(0);
    ticket.done('sample');
  });

  it('the adaptive limiter: one listener for all its waiters, none left to call once they are in', async () => {
    const ac = new AbortController();
    const limiter = new AdaptiveLimiter({ initial: 1, min: 1, max: 1 });
    const first = await limiter.enter(ac.signal);
    const waiting = Array.from({ length: 15 }, () => limiter.enter(ac.signal));
    expect(listeners(ac.signal)).toBe(1);
    let ticket: Ticket = first;
    for (const w of waiting) {
      ticket.done('none');
      ticket = await w;
    }
    ticket.done('none');
    // Every waiter is in: the abort finds nothing of theirs to call.
    ac.abort();
    expect(limiter.inFlight).toBe(0);
  });
});
