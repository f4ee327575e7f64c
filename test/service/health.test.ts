import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { HealthTracker } from '../../src/service/health.js';

const MIN = 60_000;

describe('HealthTracker', () => {
  it('is not ok before the daemon reports anything', () => {
    const h = new HealthTracker({ clock: new FakeClock() }).health();
    expect(h.ok).toBe(false);
    expect(h.reasons).toHaveLength(2);
  });

  it('is ok when every watcher runs (rescan fallback counts) and the server answered', () => {
    const clock = new FakeClock();
    const t = new HealthTracker({ clock });
    t.watcherRunning('a', true, 'events');
    t.watcherRunning('b', true, 'rescan');
    t.serverReachable(clock.now());
    expect(t.health()).toEqual({ ok: true, reasons: [] });
  });

  it('names a stopped watcher', () => {
    const clock = new FakeClock();
    const t = new HealthTracker({ clock });
    t.watcherRunning('a', true);
    t.watcherRunning('Print', false);
    t.serverReachable(clock.now());
    expect(t.health()).toEqual({ ok: false, reasons: ['the watcher for mapping "Print" is not running'] });
  });

  it('tolerates a failure within the window, not after it', () => {
    const clock = new FakeClock();
    const t = new HealthTracker({ clock, reachableWithinMs: 5 * MIN });
    t.watcherRunning('a', true);
    t.serverReachable(clock.now());
    clock.advance(2 * MIN);
    t.serverUnreachable(clock.now(), 'HTTP 503 from Squidex');
    expect(t.health().ok).toBe(true);
    clock.advance(4 * MIN);
    const h = t.health();
    expect(h.ok).toBe(false);
    expect(h.reasons[0]).toMatch(/Squidex last answered 6 minutes ago .*HTTP 503 from Squidex/);
  });

  it('stays ok while idle when the last request succeeded', () => {
    const clock = new FakeClock();
    const t = new HealthTracker({ clock });
    t.watcherRunning('a', true);
    t.serverReachable(clock.now());
    clock.advance(60 * MIN);
    expect(t.health().ok).toBe(true);
  });

  it('says when the server never answered', () => {
    const clock = new FakeClock();
    const t = new HealthTracker({ clock });
    t.watcherRunning('a', true);
    t.serverUnreachable(clock.now(), '401 invalid_client');
    expect(t.health().reasons).toEqual(['Squidex has not answered since the daemon started: 401 invalid_client']);
  });
});
