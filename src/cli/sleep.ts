import type { Clock } from '../lib/clock.js';
import { timerDelay } from '../lib/timers.js';

export interface SleepWatchOptions {
  clock: Clock;
  /** How often the wall clock is looked at. */
  tickMs: number;
  /** A tick this much later than due (by the wall clock) means the machine slept. */
  gapMs: number;
  onWake(sleptMs: number): void;
}

/** Default tick and gap: a sleep of a minute or more is noticed within a few seconds of waking. */
export const SLEEP_TICK_MS = 2000;
export const SLEEP_GAP_MS = 60_000;

/**
 * Notices that the machine slept (a laptop lid, a suspended VM): timers stop
 * during a suspend, the wall clock does not, so a tick arrives far later by the
 * wall clock than it was due. An event loop blocked that long, or the clock
 * stepped forward, looks the same and is treated the same: harmlessly.
 */
export function watchForSleep(o: SleepWatchOptions): { stop(): void } {
  let last = o.clock.now();
  const timer = setInterval(() => {
    const now = o.clock.now();
    const late = now - last - o.tickMs;
    last = now;
    if (late >= o.gapMs) o.onWake(late);
  }, timerDelay(o.tickMs));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
