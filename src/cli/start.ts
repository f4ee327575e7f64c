import { describeError } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { ROOT_FOLDER_ID } from '../squidex/index.js';
import { HealthTracker } from '../service/health.js';
import { startHttpServer, type HttpServer } from '../service/http.js';
import { createMetrics } from '../service/metrics.js';
import { createNotifier } from '../service/sdnotify.js';
import { Daemon } from './daemon.js';
import { EXIT } from './exit.js';
import { preflight } from './preflight.js';
import { acquireLockPatiently, openRuntime, pausedMappings, readConfig } from './runtime.js';
import { collectStatus, watcherKey } from './status.js';

/** Failure codes that say the server, not the file, is the problem. */
const SERVER_DOWN = new Set(['NETWORK', 'TIMEOUT', 'SERVER_ERROR', 'AUTH_FAILED', 'FORBIDDEN']);

/** `squidex-sync start`: the daemon, until SIGTERM/SIGINT. */
export async function start(configFile: string): Promise<number> {
  // A share that is not mounted right now is not a reason to refuse to run:
  // the delete guard holds its deletions and the rescans pick it up later.
  const config = readConfig(configFile, 'allow');
  const logger = createLogger({ level: config.log.level });
  for (const w of config.warnings) logger.warn({ key: w.key }, w.message);

  const metrics = createMetrics();
  // Squidex counts as down once it has not answered for 5 probes in a row: one
  // failed request is not an outage, five minutes of them (by default) are.
  const health = new HealthTracker({ reachableWithinMs: 5 * config.http.healthProbeSeconds * 1000 });
  const lock = await acquireLockPatiently(config.state, config.sync.shutdownTimeoutMs + 5000, logger);
  const rt = openRuntime(config, {
    lock,
    logger,
    events: {
      uploaded: (kind, bytes) => metrics.recordUpload(kind, bytes),
      tusBytes: (kind, bytes) => metrics.recordTusBytes(kind, bytes),
      action: () => {
        health.serverReachable();
        metrics.recordSuccess(Date.now());
      },
      failed: (code, verdict) => {
        metrics.recordFailure(code);
        if (verdict === 'retry') metrics.recordRetry();
        if (SERVER_DOWN.has(code)) health.serverUnreachable(Date.now(), `Squidex request failed (${code})`);
      },
    },
  });
  metrics.setQueueDepthSource(() => rt.state.jobs.counts());
  // pause/resume and held deletions change in the state file behind the
  // daemon's back (the CLI writes them), so they are read at scrape time.
  const refreshGauges = (): void => {
    try {
      const paused = new Set(pausedMappings(rt.state, config));
      const stats = rt.state.files.stats();
      for (const m of config.mappings) {
        metrics.setPaused(m.name, paused.has(m.name));
        metrics.setHeldDeletes(m.name, stats.get(m.name)?.missing ?? 0);
      }
    } catch (e) {
      logger.debug({ err: e }, 'cannot read pause flags for /metrics: %s', describeError(e));
    }
  };
  refreshGauges();

  const daemon = new Daemon(rt, {
    watcherState: (mapping, mode, running) => {
      health.watcherRunning(mapping, running, mode);
      metrics.setWatcherMode(mapping, mode);
      // For `status` run from another process (and /status): only the daemon knows the mode.
      try {
        rt.state.meta.set(watcherKey(mapping), running ? mode : 'stopped');
      } catch (e) {
        logger.debug({ err: e, mapping }, 'cannot record the watcher mode: %s', describeError(e));
      }
    },
    rescanned: (mapping, seconds) => metrics.setRescanDuration(mapping, seconds),
  });
  const notifier = createNotifier({ logger });

  let http: HttpServer | undefined;
  let probe: NodeJS.Timeout | undefined;
  if (config.http.port > 0) {
    http = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      health: () => health.health(),
      // Exactly what `status --json` prints, so scripts can use either.
      status: () => collectStatus(rt.state, config),
      metrics: { contentType: metrics.contentType, text: () => (refreshGauges(), metrics.text()) },
      logger,
    });
    logger.info({ url: http.url }, 'status endpoint on %s (/health, /metrics, /status)', http.url);
    // An idle daemon sends nothing; a cheap request now and then keeps /health honest.
    const probeOnce = (): void => {
      rt.client.listFolders(ROOT_FOLDER_ID).then(
        () => health.serverReachable(),
        (e) => health.serverUnreachable(Date.now(), describeError(e)),
      );
    };
    probe = setInterval(probeOnce, config.http.healthProbeSeconds * 1000).unref();
    probeOnce();
  }

  let signals = 0;
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      // Second signal: exit now. Running jobs stay `running` in the state
      // file and go back to the queue at the next start.
      logger.warn({ signal: sig }, 'second signal: exiting at once');
      process.exit(EXIT.OK);
    }
    logger.info({ signal: sig }, 'stopping: finishing uploads in flight (up to %d s)', config.sync.shutdownTimeoutMs / 1000);
    stopRequested();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    // A wrong secret or app exits 3 here; a SIGTERM while Squidex is slow to answer still stops at once.
    await Promise.race([preflight(rt.client, config, logger, { unreachable: 'continue' }), stopped]);
    const starting = daemon.start();
    await Promise.race([starting, stopped]);
    await notifier.ready('watching');
    notifier.startWatchdog();
    logger.info({ mappings: config.mappings.length }, 'squidex-sync is running');
    await stopped;
    await notifier.stopping('draining');
    await daemon.stop();
    await rt.pool.stop(config.sync.shutdownTimeoutMs);
    await starting.catch(() => undefined);
  } finally {
    clearInterval(probe);
    notifier.close();
    await http?.close().catch(() => undefined);
    await rt.close();
  }
  logger.info('stopped');
  return EXIT.OK;
}
