/** A pinned `sync.concurrency`: the gate the uploads wait at (counts and order, a fake clock). */
import { describe, expect, it } from 'vitest';
import { UploadGate } from '../../src/squidex/gate.js';
import { SquidexError } from '../../src/squidex/errors.js';
import type { Ticket } from '../../src/squidex/limiter.js';

/** `n` callers at the gate; which of them got in so far. */
function callers(gate: UploadGate, n: number, signal?: AbortSignal) {
  const tickets: Array<Ticket | undefined> = Array.from({ length: n });
  const errors: unknown[] = Array.from({ length: n });
  const settled = Array.from({ length: n }, async (_, i) => {
    try {
      tickets[i] = await gate.enter(signal);
    } catch (e) {
      errors[i] = e;
    }
  });
  return { tickets, errors, settle: () => Promise.all(settled), inside: () => tickets.filter(Boolean).length };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('UploadGate', () => {
  it('lets N in at once, the rest in arrival order as each one ends', async () => {
    const gate = new UploadGate(3);
    const c = callers(gate, 5);
    await turn();
    expect(c.inside()).toBe(3);
    expect(gate.inFlight).toBe(3);
    expect(gate.waiting).toBe(2);
    c.tickets[1]!.done('sample');
    await turn();
    expect(c.tickets[3]).toBeDefined();
    expect(c.tickets[4]).toBeUndefined();
    expect(gate.inFlight).toBe(3);
    for (const t of [c.tickets[0], c.tickets[2], c.tickets[3]]) t!.done('sample');
    await c.settle();
    expect(c.inside()).toBe(5);
    c.tickets[4]!.done('none');
    c.tickets[4]!.done('none'); // once per ticket
    expect(gate.inFlight).toBe(0);
  });

  it('after a refusal, one at a time until an upload is taken; then N again', async () => {
    const gate = new UploadGate(4);
    const first = callers(gate, 4);
    await turn();
    const later = callers(gate, 4);
    for (const t of first.tickets) t!.done('overload');
    await turn();
    expect(later.inside()).toBe(1);
    later.tickets[0]!.done('none'); // a network failure says nothing: still one at a time
    await turn();
    expect(later.inside()).toBe(2);
    later.tickets[1]!.done('sample');
    await later.settle();
    expect(later.inside()).toBe(4);
    expect(gate.inFlight).toBe(2);
  });

  it('sends nothing while the queue holds the pause Squidex asked for: the waiting uploads meet it unsent', async () => {
    let now = 1_000_000;
    let pausedUntil = 0;
    const gate = new UploadGate(2, { pausedUntil: () => pausedUntil, now: () => now });
    const onWire = callers(gate, 2);
    await turn();
    const waiting = callers(gate, 3);
    // The answer to the first upload on the wire is a 429, and the queue records its pause.
    pausedUntil = now + 4000;
    onWire.tickets[0]!.done('overload');
    onWire.tickets[1]!.done('overload');
    await waiting.settle();
    expect(waiting.inside()).toBe(0);
    for (const e of waiting.errors) {
      expect(e).toBeInstanceOf(SquidexError);
      expect(e).toMatchObject({ code: 'RATE_LIMITED', retry: 'pause', retryAfterMs: 4000 });
    }
    await expect(gate.enter()).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(gate.inFlight).toBe(0);
    // The pause is over: one goes, and once it is taken, two again.
    now = pausedUntil;
    const after = callers(gate, 3);
    await turn();
    expect(after.inside()).toBe(1);
    after.tickets[0]!.done('sample');
    await after.settle();
    expect(after.inside()).toBe(3);
  });

  it('without a refusal the pause is not looked at: one read of the state per upload at most, none in the common case', async () => {
    let reads = 0;
    const gate = new UploadGate(2, {
      pausedUntil: () => {
        reads++;
        return 0;
      },
    });
    const c = callers(gate, 6);
    const ended = new Set<Ticket>();
    for (let i = 0; i < 3; i++) {
      await turn();
      for (const t of c.tickets) {
        if (!t || ended.has(t)) continue;
        ended.add(t);
        t.done('sample');
      }
    }
    await c.settle();
    expect(c.inside()).toBe(6);
    expect(reads).toBe(0);
  });

  it('enterNow: a ticket at once only where enter would give one without waiting or reading the pause', async () => {
    let reads = 0;
    const gate = new UploadGate(2, { pausedUntil: () => ++reads * 0 });
    const stopped = new AbortController();
    stopped.abort();
    expect(gate.enterNow(stopped.signal)).toBeUndefined();
    const a = gate.enterNow()!;
    const b = gate.enterNow()!;
    expect(gate.inFlight).toBe(2);
    expect(gate.enterNow()).toBeUndefined(); // full
    const waiter = gate.enter();
    a.done('sample');
    expect(gate.enterNow()).toBeUndefined(); // room, but taken by the one waiting
    b.done('overload');
    (await waiter).done('sample');
    // After a refusal enter reads the pause: enterNow leaves it to enter.
    const c = gate.enterNow()!;
    c.done('overload');
    expect(gate.enterNow()).toBeUndefined();
    expect(reads).toBe(0);
    (await gate.enter()).done('sample');
    expect(reads).toBe(1);
    expect(gate.enterNow()).toBeDefined();
  });

  it('a caller that stops while it waits leaves the line without a ticket', async () => {
    const gate = new UploadGate(1);
    const inside = await gate.enter();
    const ac = new AbortController();
    const c = callers(gate, 1, ac.signal);
    ac.abort(new Error('stopping'));
    await c.settle();
    expect((c.errors[0] as Error).message).toBe('stopping');
    expect(gate.waiting).toBe(0);
    inside.done('sample');
    expect(gate.inFlight).toBe(0);
  });
});
