import { systemClock, type Clock } from '../lib/clock.js';

export interface HealthReport {
  ok: boolean;
  /** Why not ok, in plain words; empty when ok. */
  reasons: string[];
}

export interface HealthTrackerOptions {
  clock?: Clock;
  /** How long after its last answer the server still counts as reachable. Default 5 minutes. */
  reachableWithinMs?: number;
  /** Until when the server asked every upload to wait (Retry-After); 0 = no pause. Read at each health(). */
  pausedUntil?: () => number;
  /** The line for a server-asked pause ("Squidex asked us to pause until 15:02; 21 files waiting"). */
  describePause?: (until: number) => string;
}

type WatcherState = 'running' | 'rescan' | 'stopped';

/**
 * What `GET /health` answers, fed by the daemon. Healthy means: every mapping's
 * watcher runs (rescan-only fallback counts: changes are still picked up, only
 * later) and Squidex answered recently — or its last request succeeded, so a
 * quiet daemon with nothing to upload does not turn unhealthy just by idling.
 *
 * Before the daemon reports anything, health is not ok: a fresh process that
 * has not yet started a watcher or reached the server is not known to work.
 */
export class HealthTracker {
  private readonly clock: Clock;
  private readonly windowMs: number;
  private readonly watchers = new Map<string, WatcherState>();
  private lastOkAt: number | undefined;
  private lastFailure: { at: number; reason: string } | undefined;
  private lastWasOk = false;
  /** The first failure after the last answer: "unreachable since …". */
  private downSince: number | undefined;
  private refused = false;
  private away: { describe: () => string } | undefined;
  private pause: { until: number; seenAt: number } | undefined;

  constructor(private readonly opts: HealthTrackerOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.windowMs = opts.reachableWithinMs ?? 5 * 60_000;
  }

  /** `mode: 'rescan'` marks the fallback when the OS would not give us file events. */
  watcherRunning(mapping: string, running: boolean, mode?: 'events' | 'poll' | 'rescan'): void {
    this.watchers.set(mapping, !running ? 'stopped' : mode === 'rescan' ? 'rescan' : 'running');
  }

  /** Forget a mapping that was removed from the config. */
  forgetWatcher(mapping: string): void {
    this.watchers.delete(mapping);
  }

  serverReachable(at: number = this.clock.now()): void {
    this.lastOkAt = at;
    this.lastWasOk = true;
    this.downSince = undefined;
    this.refused = false;
    this.away = undefined;
  }

  /**
   * The daemon holds Squidex for away (or refusing us, `refused`) since `since`, with
   * `reason` in a few words; `describe` gives the whole line at each health().
   */
  serverAway(o: { since: number; reason: string; refused: boolean }, describe: () => string): void {
    this.away = { describe };
    this.lastFailure = { at: o.since, reason: o.reason };
    this.lastWasOk = false;
    this.downSince = o.since;
    this.refused = o.refused;
  }

  /** `refused`: Squidex answered, but turned the credentials down. */
  serverUnreachable(at: number, reason: string, refused = false): void {
    this.lastFailure = { at, reason };
    this.lastWasOk = false;
    this.downSince ??= at;
    this.refused = refused;
  }

  /** Squidex as last seen, for the page and the notifications. */
  server(): { state: 'ok' | 'unreachable' | 'refused' | 'unknown'; since: number | null; reason: string | null } {
    if (this.lastWasOk) return { state: 'ok', since: null, reason: null };
    if (this.downSince === undefined) return { state: 'unknown', since: null, reason: null };
    return { state: this.refused ? 'refused' : 'unreachable', since: this.downSince, reason: this.lastFailure?.reason ?? null };
  }

  health(): HealthReport {
    const reasons: string[] = [];
    if (this.watchers.size === 0) reasons.push('no folder is being watched yet (the daemon is starting or has no mappings)');
    for (const [mapping, state] of this.watchers) {
      if (state === 'stopped') reasons.push(`the watcher for mapping "${mapping}" is not running`);
    }
    const server = this.serverReason();
    if (server) reasons.push(server);
    const pause = this.pauseReason();
    if (pause) reasons.push(pause);
    return { ok: reasons.length === 0, reasons };
  }

  private serverReason(): string | undefined {
    const now = this.clock.now();
    if (this.lastWasOk) return undefined;
    if (this.away) {
      if (this.lastOkAt === undefined) return `Squidex has not answered since the daemon started: ${this.away.describe()}`;
      return now - (this.downSince ?? now) > this.windowMs ? this.away.describe() : undefined;
    }
    if (this.lastOkAt !== undefined && now - this.lastOkAt <= this.windowMs) return undefined;
    const why = this.lastFailure ? `: ${this.lastFailure.reason}` : '';
    if (this.lastOkAt === undefined) {
      return this.lastFailure ? `Squidex has not answered since the daemon started${why}` : 'Squidex has not been contacted yet';
    }
    return `Squidex last answered ${ago(now - this.lastOkAt)} ago (${new Date(this.lastOkAt).toISOString()})${why}`;
  }

  /**
   * A pause the server asked for (capped, but up to an hour by default) is worth an
   * alarm once it has held, or will hold, longer than the window: nothing uploads meanwhile.
   */
  private pauseReason(): string | undefined {
    const until = this.opts.pausedUntil?.() ?? 0;
    const now = this.clock.now();
    if (until <= now) {
      this.pause = undefined;
      return undefined;
    }
    if (!this.pause || this.pause.until !== until) this.pause = { until, seenAt: this.pause?.seenAt ?? now };
    if (until - now <= this.windowMs && now - this.pause.seenAt <= this.windowMs) return undefined;
    return this.opts.describePause?.(until) ?? `Squidex asked us to pause until ${new Date(until).toISOString()}`;
  }
}

/** "45 seconds", "7 minutes": a short window (a fast health probe) must not read "0 minutes ago". */
function ago(ms: number): string {
  const [n, unit] = ms < 120_000 ? [Math.round(ms / 1000), 'second'] : [Math.round(ms / 60_000), 'minute'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
