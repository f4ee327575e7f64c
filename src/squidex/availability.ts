import type { Clock } from '../lib/clock.js';
import { describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { later } from '../lib/timers.js';
import { errorCodeOf } from './answers.js';
import { failureScope, SquidexError } from './errors.js';

/** Squidex not answering, or refusing us as a whole: a state of the daemon, not of any file. */
export interface Outage {
  /** away: no proper answer (network, timeouts, 5xx, a proxy's page); refused: credentials, permissions or certificate refused. */
  kind: 'away' | 'refused';
  /** When it began (ms since the epoch). */
  since: number;
  /** Short cause for one line: "connection refused". */
  reason: string;
  /** The last error in full, for the log and `once`'s exit message (never a secret: the client scrubs them). */
  message: string;
  code: string;
}

export interface AvailabilityOptions {
  clock: Clock;
  logger: Logger;
  /** A token plus one cheap GET; throws the client's error when Squidex does not answer properly. */
  probe(): Promise<void>;
  /** First wait between probes while Squidex is away; doubles up to maxMs. */
  baseMs: number;
  maxMs: number;
  /** Wait between probes while Squidex refuses the credentials (the token is retried this often). */
  refusedMs: number;
}

type Listener = (now: Outage | undefined, before: Outage | undefined) => void;

/**
 * Decides whether a failed request was Squidex's or the file's, and holds the
 * outage state. A transient failure (or a global refusal) is answered with a
 * probe; the probe failing too means Squidex is away: every worker stops, the
 * failure costs the file no attempt, and probes go on with back-off until the
 * first good answer. A probe that succeeds means Squidex answers others, so the
 * failure counts against the file as usual. Probes are single-flight: a burst of
 * workers failing together costs one.
 */
export class Availability {
  #outage: Outage | undefined;
  #checking: Promise<unknown> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = 0;
  #closed = false;
  /** Judgements waiting for a probe: until it answers, workers take no new jobs. */
  #deciding = 0;
  readonly #listeners: Listener[] = [];

  constructor(private readonly opts: AvailabilityOptions) {}

  get outage(): Outage | undefined {
    return this.#outage;
  }

  /**
   * True while Squidex is away or refusing, or a probe is deciding about a failed
   * request: workers take no new jobs. A routine health probe blocks nothing.
   */
  blocked(): boolean {
    return this.#outage !== undefined || this.#deciding > 0;
  }

  subscribe(fn: Listener): void {
    this.#listeners.push(fn);
  }

  /**
   * Is this failure Squidex's rather than the request's? True: give the job back
   * untouched (no attempt spent). False: it counts against the file as before.
   */
  async judge(err: unknown): Promise<boolean> {
    const scope = failureScope(err);
    if (scope !== 'transient' && scope !== 'global') return false;
    if (this.#outage) return true;
    this.#deciding++;
    try {
      return (await this.check()) !== undefined;
    } finally {
      this.#deciding--;
    }
  }

  /** A request succeeded: Squidex answers. */
  answered(): void {
    if (this.#outage) this.#up();
  }

  /** Probes now (joining one under way); resolves to the failure, or undefined when Squidex answered. */
  check(): Promise<unknown> {
    this.#checking ??= this.#probe().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** A failure already seen across the board (the start's first requests): enter the outage without asking again. */
  failed(err: unknown): void {
    const scope = failureScope(err);
    if (scope === 'transient' || scope === 'global') this.#down(err);
  }

  /** Probe at once if away (the machine woke up, the network came back): do not wait out the back-off. */
  wake(): void {
    if (!this.#outage) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    void this.check();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #probe(): Promise<unknown> {
    try {
      await this.opts.probe();
    } catch (e) {
      if (this.#closed) return e;
      const scope = failureScope(e);
      if (scope === 'transient' || scope === 'global') {
        this.#down(e);
        return e;
      }
      // A 429, a 404 for one folder: Squidex answered. Anything else is not the server's doing.
      if (scope === 'local') {
        this.opts.logger.debug({ err: e }, 'the Squidex probe failed on our side: %s', describeError(e));
        return undefined;
      }
    }
    this.#up();
    return undefined;
  }

  #down(e: unknown): void {
    const kind = failureScope(e) === 'global' ? 'refused' : 'away';
    const before = this.#outage;
    const outage: Outage = {
      kind,
      since: before?.since ?? this.opts.clock.now(),
      reason: briefReason(e),
      message: describeError(e),
      code: e instanceof SquidexError ? e.code : 'UNEXPECTED',
    };
    this.#outage = outage;
    if (!before || before.kind !== kind) {
      const log = this.opts.logger;
      if (kind === 'refused') {
        log.error(
          { code: outage.code },
          'Squidex refuses us (%s): uploads pause, no file is marked failed; the token is asked for again every %d s. %s',
          outage.reason,
          Math.round(this.opts.refusedMs / 1000),
          outage.message,
        );
      } else {
        log.warn(
          { code: outage.code },
          'Squidex unreachable (%s): uploads wait for it, no attempts are spent; probing with back-off. %s',
          outage.reason,
          outage.message,
        );
      }
      this.#emit(outage, before);
    }
    this.#schedule();
  }

  #up(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#delay = 0;
    const before = this.#outage;
    if (!before) return;
    this.#outage = undefined;
    const seconds = Math.round((this.opts.clock.now() - before.since) / 1000);
    this.opts.logger.info(
      { downForSeconds: seconds },
      'Squidex answers again after %d s (was: %s); uploads resume',
      seconds,
      before.reason,
    );
    this.#emit(undefined, before);
  }

  #schedule(): void {
    if (this.#closed || this.#timer || !this.#outage) return;
    const refused = this.#outage.kind === 'refused';
    this.#delay = refused ? this.opts.refusedMs : Math.min(this.opts.maxMs, this.#delay === 0 ? this.opts.baseMs : this.#delay * 2);
    this.#timer = later(() => {
      this.#timer = undefined;
      void this.check(); // a failure schedules the next one
    }, this.#delay);
    this.#timer.unref();
  }

  #emit(now: Outage | undefined, before: Outage | undefined): void {
    for (const fn of this.#listeners) {
      try {
        fn(now, before);
      } catch (e) {
        this.opts.logger.error({ err: e }, 'reacting to a change of Squidex reachability failed: %s', describeError(e));
      }
    }
  }
}

/** A short cause for "Squidex unreachable since 14:02 (connection refused)". */
export function briefReason(e: unknown): string {
  if (!(e instanceof SquidexError)) return describeError(e);
  const net = errorCodeOf(e.cause);
  switch (e.code) {
    case 'NETWORK':
      if (net === 'ECONNREFUSED') return 'connection refused';
      if (net === 'ENOTFOUND') return 'host not found';
      if (net === 'EAI_AGAIN') return 'DNS lookup failed';
      if (net === 'EHOSTUNREACH' || net === 'ENETUNREACH' || net === 'ENETDOWN') return 'network unreachable';
      if (net === 'ECONNRESET' || net === 'UND_ERR_SOCKET' || net === 'EPIPE') return 'connection reset';
      return `connection failed${net ? `: ${net}` : ''}`;
    case 'TIMEOUT':
      return e.status ? `HTTP ${e.status}` : 'no answer in time';
    case 'PROXY_ERROR':
      return `a proxy answered${e.status ? ` HTTP ${e.status}` : ''} instead of Squidex`;
    case 'AUTH_FAILED':
      return 'credentials refused';
    case 'FORBIDDEN':
      return 'HTTP 403';
    case 'TLS':
      return net ?? 'TLS';
    default:
      return e.status ? `HTTP ${e.status}` : e.code;
  }
}
