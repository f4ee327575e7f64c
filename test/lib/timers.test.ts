import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { MAX_TIMER_MS, timerDelay } from '../../src/lib/timers.js';
import type { SquidexClient } from '../../src/squidex/index.js';
import { Stamper } from '../../src/worker/stamps.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

describe('timer delays', () => {
  it('are kept within what Node can hold, never negative', () => {
    expect(timerDelay(2_147_484_000)).toBe(MAX_TIMER_MS);
    expect(timerDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS);
    expect(timerDelay(-5)).toBe(0);
    expect(timerDelay(Number.NaN)).toBe(0);
    expect(timerDelay(1500)).toBe(1500);
  });

  it('a pause of 2,147,484 s or more does not fire every millisecond', async () => {
    // A pause that long stored by an earlier version (nothing caps what is on disk).
    const { state } = t.fresh();
    state.meta.set('queue.pausedUntil', String(Date.now() + 2_147_484 * 1000));
    let reads = 0;
    const real = state.jobs.pausedUntil.bind(state.jobs);
    state.jobs.pausedUntil = () => {
      reads++;
      return real();
    };
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const stamper = new Stamper({ state, client: {} as SquidexClient, clock: systemClock, logger: silentLogger });
    try {
      state.stamps.put('00000000-0000-0000-0000-000000000001', { metadata: { x: '1' } }, Date.now());
      await stamper.flush(); // blocked by the pause: it schedules its next look at the pause's end
      const before = reads;
      await new Promise((r) => setTimeout(r, 300));
      // An overflowing timer fires after 1 ms and reads the pause again, hundreds of times here.
      expect(reads - before).toBeLessThanOrEqual(1);
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      stamper.stop();
      process.off('warning', onWarning);
    }
  });
});
