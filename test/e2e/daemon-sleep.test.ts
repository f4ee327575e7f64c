/**
 * Issue 13: a laptop that slept is seen by the wall clock jumping well past the
 * poll interval; the daemon then refreshes the token and rescans each mapping once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon } from '../../src/cli/daemon.js';
import { SLEEP_GAP_MS, SLEEP_TICK_MS, watchForSleep } from '../../src/cli/sleep.js';
import { FakeClock } from '../../src/lib/clock.js';
import { rig, type Rig } from '../support/regressions.js';
import { waitFor } from '../support/world.js';

let r: Rig | undefined;
let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  await r?.rt.pool.stop(1000);
  await r?.cleanup();
  r = daemon = undefined;
});

describe('a machine that slept', () => {
  it('is told apart from ticks that are merely a little late', async () => {
    const clock = new FakeClock();
    const woke: number[] = [];
    const watch = watchForSleep({ clock, tickMs: 20, gapMs: 60_000, onWake: (ms) => woke.push(ms) });
    try {
      clock.advance(30_000); // late, but not a sleep
      await new Promise((res) => setTimeout(res, 60));
      expect(woke).toEqual([]);
      clock.advance(45 * 60_000);
      await waitFor(() => woke.length > 0, 5_000);
      expect(woke[0]).toBeGreaterThanOrEqual(45 * 60_000 - 20);
    } finally {
      watch.stop();
    }
  });

  it('makes the daemon fetch a new token and rescan every mapping once', async () => {
    const clock = new FakeClock(Date.now());
    r = await rig({ clock, setup: (local) => writeFileSync(join(local, 'a.txt'), 'before the sleep') });
    const rig_ = r;
    const rescans: string[] = [];
    daemon = new Daemon(rig_.rt, { rescanned: (mapping) => rescans.push(mapping) });
    await daemon.start();
    await waitFor(() => rig_.server.inspect().assets.length === 1, 20_000);
    expect(rescans).toEqual(['m']);
    const tokens = rig_.server.inspect().counters.tokens;
    // The lid closed for an hour.
    clock.advance(60 * 60_000);
    await waitFor(() => rescans.length === 2 && rig_.server.inspect().counters.tokens > tokens, SLEEP_TICK_MS + 10_000);
    expect(rescans).toEqual(['m', 'm']);
    expect(SLEEP_GAP_MS).toBeLessThan(60 * 60_000);
  });
});
