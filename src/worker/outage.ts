import type { Clock } from '../lib/clock.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { later } from '../lib/timers.js';
import type { Availability, Outage } from '../squidex/availability.js';
import type { State } from '../state/index.js';

/**
 * What a Squidex outage means for the rest of the daemon: recorded in the state
 * database (so `status`, run beside it, can say so), jobs failed by earlier
 * versions for the same reason revived when it answers, and the words every
 * surface uses for it.
 */

/** meta key holding the current outage as JSON; absent when Squidex answers. */
export const OUTAGE_KEY = 'squidex.outage';

export interface OutageDeps {
  state: State;
  logger: Logger;
  /** Squidex answers again: look at the queue now. */
  resumed(): void;
}

/** Keeps the state database's record of the outage current and revives what it failed. */
export function followOutage(availability: Availability, deps: OutageDeps): void {
  availability.subscribe((now) => {
    try {
      if (now) deps.state.meta.set(OUTAGE_KEY, JSON.stringify(now));
      else deps.state.meta.delete(OUTAGE_KEY);
    } catch (e) {
      deps.logger.debug({ err: e }, 'cannot record the Squidex outage in the state database: %s', describeError(e));
    }
    if (!now) {
      reviveLegacyFailures(deps.state, deps.logger);
      deps.resumed();
    }
  });
}

/**
 * Squidex answered: files an earlier version marked failed only because it was
 * away or refused us go back to the queue. One log line, however many.
 */
export function reviveLegacyFailures(state: State, logger: Logger): number {
  let n = 0;
  try {
    n = state.jobs.reviveLegacyFailures();
  } catch (e) {
    logger.error({ code: (e as SyncError).code }, 'cannot re-queue files that failed while Squidex was away: %s', describeError(e));
    return 0;
  }
  if (n > 0) {
    logger.info(
      { files: n },
      '%d file%s that had failed only because Squidex could not be reached %s queued again',
      n,
      n === 1 ? '' : 's',
      n === 1 ? 'is' : 'are',
    );
  }
  return n;
}

/** The outage a running daemon recorded, if any. */
export function readOutage(state: State): Outage | undefined {
  const raw = state.meta.get(OUTAGE_KEY);
  if (!raw) return undefined;
  try {
    const o = JSON.parse(raw) as Outage;
    return typeof o.since === 'number' && typeof o.reason === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** Local wall time as HH:MM: what someone glancing at `status` compares with their clock. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

function files(n: number): string {
  return `${n} file${n === 1 ? '' : 's'} waiting`;
}

/** "Squidex unreachable since 14:02 (connection refused); 21 files waiting". */
export function outageLine(o: Pick<Outage, 'kind' | 'since' | 'reason' | 'code'>, waiting: number): string {
  return `${headline(o)} since ${clockTime(o.since)} (${o.reason}); ${files(waiting)}`;
}

function headline(o: Pick<Outage, 'kind' | 'code'>): string {
  if (o.kind === 'away') return 'Squidex unreachable';
  if (o.code === 'FORBIDDEN') return 'Squidex refuses our client access';
  if (o.code === 'TLS') return "Squidex's certificate not accepted";
  return 'Squidex refuses our credentials';
}

/** "Squidex asked us to pause until 15:02; 21 files waiting". */
export function pauseLine(untilMs: number, waiting: number): string {
  return `Squidex asked us to pause until ${clockTime(untilMs)}; ${files(waiting)}`;
}

/**
 * For `once`: rejects when Squidex has been away for `boundMs` (naming the last
 * error), or at once when it refuses our credentials. The queue is left as it is.
 */
export function outageDeadline(availability: Availability, boundMs: number, clock: Clock): { expired: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  let fail!: (e: SyncError) => void;
  const expired = new Promise<never>((_, reject) => (fail = reject));
  const look = (o: Outage | undefined): void => {
    clearTimeout(timer);
    timer = undefined;
    if (cancelled || !o) return;
    const left = o.since + boundMs - clock.now();
    if (o.kind === 'refused' || left <= 0) {
      fail(unreachable(o, boundMs));
      return;
    }
    timer = later(() => look(availability.outage), left);
  };
  availability.subscribe((now) => look(now));
  look(availability.outage);
  expired.catch(() => undefined); // the caller races it; unobserved when the run ends first
  return {
    expired,
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

function unreachable(o: Outage, boundMs: number): SyncError {
  const message =
    o.kind === 'refused'
      ? `Squidex refused the credentials: ${o.message}`
      : `cannot reach Squidex: it has not answered for ${Math.round(boundMs / 1000)} s (squidex.connectTimeoutSeconds). Last error: ${o.message}`;
  return new SyncError(o.code === 'AUTH_FAILED' || o.code === 'FORBIDDEN' || o.code === 'TLS' ? o.code : 'SQUIDEX_UNREACHABLE', message, {
    hint: 'Nothing is lost: the files not yet sent stay queued, and the next run goes on with them.',
  });
}
