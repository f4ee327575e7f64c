import { describe, expect, it } from 'vitest';
import { startDeadline, type Deadline } from '../../src/squidex/deadline.js';

const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

/** The reason `d` ends with, or 'open' if it has not within `ms`. */
function endOf(d: Deadline, ms: number): Promise<string> {
  if (d.reason) return Promise.resolve(d.reason.message);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), ms);
    d.onAbort((why) => {
      clearTimeout(t);
      resolve(why.message);
    });
  });
}

describe('request deadlines', () => {
  it('share one timer however many requests are in flight, and leave none once all are cleared', () => {
    const before = timers();
    const many = Array.from({ length: 50 }, (_, i) => startDeadline(60_000 + (i % 7) * 1000, () => new Error('late')));
    expect(timers()).toBeLessThanOrEqual(before + 1);
    for (const d of many) d.clear();
    expect(timers()).toBe(before);
    expect(many.every((d) => d.reason === undefined)).toBe(true);
  });

  it('end in the order they are due, a shorter one started after a longer one first, a cleared one never', async () => {
    const order: string[] = [];
    const due = (name: string) => () => {
      order.push(name);
      return new Error(name);
    };
    const long = startDeadline(400, due('long'));
    const cleared = startDeadline(30, due('cleared'));
    const short = startDeadline(60, due('short'));
    cleared.clear();
    expect(await endOf(short, 5000)).toBe('short');
    expect(await endOf(long, 5000)).toBe('long');
    expect(order).toEqual(['short', 'long']);
    expect(cleared.reason).toBeUndefined();
    long.clear();
    short.clear();
  });

  it('ends with the caller’s reason when its signal aborts first, and stays ended with it', async () => {
    const ac = new AbortController();
    const d = startDeadline(60_000, () => new Error('late'), ac.signal);
    ac.abort(new Error('cancelled by the caller'));
    expect(await endOf(d, 5000)).toBe('cancelled by the caller');
    d.clear();
    const other = startDeadline(20, () => new Error('due'));
    expect(await endOf(other, 5000)).toBe('due');
    other.clear();
    expect(d.reason?.message).toBe('cancelled by the caller');
  });
});
