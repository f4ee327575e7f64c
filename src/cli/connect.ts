import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { SquidexClient } from '../squidex/client.js';
import { UploadGate } from '../squidex/gate.js';
import { AdaptiveLimiter, MAX_LIMIT } from '../squidex/limiter.js';

/**
 * The Squidex side of a run, without the state: `once` makes it as soon as the config is read and
 * sends the token while the state and the worker's modules load (runtime.ts takes it over).
 */
export interface Connection {
  client: SquidexClient;
  /** `sync.concurrency: auto`: the requests allowed at once now; undefined when the config pins a number. */
  limiter: AdaptiveLimiter | undefined;
  /** A pinned `sync.concurrency`: the uploads on the wire at once; undefined under auto. */
  uploads: UploadGate | undefined;
  /** Where the pause Squidex asked for is kept (the queue): the upload gate reads it from then on. */
  attach(queue: { pausedUntil(): number }): void;
}

export function connect(config: Config, logger: Logger, clock: Clock = systemClock): Connection {
  const limiter = config.sync.concurrency === 'auto' ? new AdaptiveLimiter() : undefined;
  limiter?.onChange((limit) => logger.debug({ component: 'squidex', limit }, 'requests at once: %d', limit));
  const pinned = config.sync.concurrency === 'auto' ? undefined : config.sync.concurrency;
  let queue: { pausedUntil(): number } | undefined;
  // Uploads only: nothing is sent while the queue holds a pause Squidex asked for (gate.ts).
  const uploads =
    pinned === undefined ? undefined : new UploadGate(pinned, { pausedUntil: () => queue?.pausedUntil() ?? 0, now: () => clock.now() });
  return {
    client: clientFor(config, logger, clock, limiter, uploads),
    limiter,
    uploads,
    attach(q) {
      queue = q;
    },
  };
}

export function clientFor(
  config: Config,
  logger: Logger,
  clock: Clock = systemClock,
  limiter?: AdaptiveLimiter,
  uploads?: UploadGate,
): SquidexClient {
  const s = config.squidex;
  return new SquidexClient({
    url: s.url,
    app: s.app,
    clientId: s.clientId,
    clientSecret: s.clientSecret,
    token: s.token,
    ca: s.ca,
    timeoutMs: s.timeoutSeconds * 1000,
    // A pinned number is that many uploads, each with its connection; the folders made ahead and the
    // stamps (or the token) get their own beside them, so they never hold an upload back for a connection.
    connections: config.sync.concurrency === 'auto' ? MAX_LIMIT + 1 : config.sync.concurrency + aheadShare(config.sync.concurrency) + 1,
    maxBytesPerSecond: config.upload.maxBytesPerSecond,
    maxServerPauseMs: config.sync.maxServerPauseSeconds * 1000,
    logger: logger.child({ component: 'squidex' }),
    clock,
    limiter,
    uploads,
  });
}

/** Folder requests at once made ahead of the workers: a quarter of the limit, at least one. */
export function aheadShare(limit: number): number {
  return Math.max(1, Math.floor(limit / 4));
}

/**
 * Squidex's reachability, probed with a token and the cheapest GET. Probes back off
 * like a failing job (sync.backoffBaseMs doubling), at most a minute apart; refused
 * credentials are asked again every few minutes.
 */
export function probeBackoff(config: Config): { baseMs: number; maxMs: number } {
  const baseMs = Math.max(50, config.sync.backoffBaseMs);
  return { baseMs, maxMs: Math.min(60_000, Math.max(baseMs, config.sync.backoffMaxMs)) };
}
