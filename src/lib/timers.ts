/**
 * Node keeps timer delays in a signed 32-bit int: a delay of 2^31 ms (~24.8 days)
 * or more is replaced by 1 ms, with a TimeoutOverflowWarning. A wait computed from
 * a server's Retry-After, a stored pause or a config value can reach that, and then
 * a "wait a month" loop runs every millisecond. Every computed delay goes through here.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay Node's timers keep as asked: not negative, not NaN, at most MAX_TIMER_MS (waking early is harmless, every caller looks again). */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMER_MS);
}

/** setTimeout with a clamped delay. */
export function later(fn: () => void, ms: number): NodeJS.Timeout {
  return setTimeout(fn, timerDelay(ms));
}

/** A promise that resolves after the (clamped) delay. It keeps the process alive: whoever awaits it has work after it. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, timerDelay(ms)));
}
