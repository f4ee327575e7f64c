import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/log.js';
import { BackgroundVerify, VERIFY_DUE } from '../../src/verify/background.js';
import type { ReconcileContext } from '../../src/worker/context.js';
import { tempStates } from '../support/state.js';

/**
 * When the daemon's background verify is due (sync.verifyInterval): kept in the
 * state, so a daemon restarted more often than the interval still verifies.
 */

const t = tempStates();
afterEach(() => t.cleanup());

const HOUR = 3600_000;

function verifier(ctx: Pick<ReconcileContext, 'state' | 'clock' | 'logger'>, intervalMs: number): BackgroundVerify {
  return new BackgroundVerify({
    intervalMs,
    mode: 'report',
    mappings: [],
    ctx: ctx as ReconcileContext,
    wake: () => undefined,
    paused: () => [],
  });
}

describe('the background verify schedule', () => {
  it('keeps its due time across restarts, shortens it when the interval shrinks, and is off at 0', async () => {
    const { state, clock } = t.fresh();
    const ctx = { state, clock, logger: silentLogger };
    const start = clock.now();

    const first = verifier(ctx, 24 * HOUR);
    first.start();
    await first.stop();
    expect(state.meta.get(VERIFY_DUE)).toBe(String(start + 24 * HOUR));

    // Restarted an hour later, and again the next hour: still due when the first start said.
    for (let i = 0; i < 2; i++) {
      clock.advance(HOUR);
      const again = verifier(ctx, 24 * HOUR);
      again.start();
      await again.stop();
      expect(state.meta.get(VERIFY_DUE)).toBe(String(start + 24 * HOUR));
    }

    // sync.verifyInterval lowered to 1h: due within the hour, not at the old time.
    const shorter = verifier(ctx, HOUR);
    shorter.start();
    await shorter.stop();
    expect(state.meta.get(VERIFY_DUE)).toBe(String(clock.now() + HOUR));

    state.meta.delete(VERIFY_DUE);
    const off = verifier(ctx, 0);
    off.start();
    await off.stop();
    expect(state.meta.get(VERIFY_DUE)).toBeUndefined();
  });
});
