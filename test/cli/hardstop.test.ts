import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hardStopAfter } from '../../src/cli/hardstop.js';

function recorder() {
  const lines: { obj: unknown; args: unknown[] }[] = [];
  const exits: number[] = [];
  const logger = { error: (obj: unknown, ...args: unknown[]) => void lines.push({ obj, args }) };
  return { lines, exits, deps: { logger: logger as never, exit: (c: number) => void exits.push(c) } };
}

describe('hardStopAfter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('exits 0 once the stop overruns, naming the steps still pending', async () => {
    const r = recorder();
    hardStopAfter(20, new Set(['uploads', 'watchers']), r.deps);
    vi.advanceTimersByTime(19);
    expect(r.exits).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(r.exits).toEqual([0]);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0].obj).toEqual({ pending: ['uploads', 'watchers'] });
    expect(r.lines[0].args[0]).toMatch(/still waiting for: %s/);
    expect(r.lines[0].args[2]).toBe('uploads, watchers');
  });

  it('does nothing when the stop ends in time and the timer is cleared', async () => {
    const r = recorder();
    const t = hardStopAfter(20, new Set(['state']), r.deps);
    clearTimeout(t);
    vi.advanceTimersByTime(1000);
    expect(r.exits).toEqual([]);
    expect(r.lines).toEqual([]);
  });
});
