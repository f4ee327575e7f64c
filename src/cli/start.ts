import { describeError, SyncError } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { HealthTracker } from '../service/health.js';
import { startHttpServer, type HttpServer } from '../service/http.js';
import { Activity } from '../service/activity.js';
import { WebhookNotifier } from '../service/notify.js';
import { ensureToken } from '../service/webauth.js';
import { createMetrics } from '../service/metrics.js';
import { createNotifier } from '../service/sdnotify.js';
import { noteStateTrouble } from '../state/clean.js';
import { scanned } from '../state/index.js';
import { watchStateFile } from '../state/identity.js';
import { Daemon } from './daemon.js';
import { EXIT } from './exit.js';
import { HARD_STOP_GRACE_MS, hardStopAfter } from './hardstop.js';
import { preflight } from './preflight.js';
import { acquireLockPatiently, openRuntime, pausedMappings, readConfig } from './runtime.js';
import { collectStatus, watcherKey } from './status.js';
import { outageLine, pauseLine, reviveLegacyFailures } from '../worker/outage.js';
import { webFor } from './web.js';
import { concurrencyNow } from './pace.js';
import { BackgroundVerify } from '../verify/background.js';

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
  const health = new HealthTracker({
    reachableWithinMs: 5 * config.http.healthProbeSeconds * 1000,
    pausedUntil: () => rt.state.jobs.pausedUntil(),
    describePause: (until) => pauseLine(until, waiting()),
  });
  const activity = new Activity();
  const lock = await acquireLockPatiently(config.state, config.sync.shutdownTimeoutMs + 5000, logger);
  const rt = openRuntime(config, {
    lock,
    logger,
    events: {
      uploaded: (kind, bytes) => metrics.recordUpload(kind, bytes),
      tusBytes: (kind, bytes) => metrics.recordTusBytes(kind, bytes),
      action: (action, mapping, path) => {
        activity.record(action, mapping, path, Date.now());
        health.serverReachable();
        metrics.recordSuccess(Date.now());
      },
      failed: (code, verdict) => {
        metrics.recordFailure(code);
        if (verdict === 'retry') metrics.recordRetry();
      },
    },
  });
  // Squidex away is the availability's to decide (a probe after a failure), not one failed upload's.
  const waiting = (): number => {
    const c = rt.state.jobs.counts();
    return c.queued + c.running;
  };
  rt.availability.subscribe((now) => {
    if (now)
      health.serverAway({ since: now.since, reason: now.reason, refused: now.kind === 'refused' }, () =>
        outageLine(rt.availability.outage ?? now, waiting()),
      );
    else health.serverReachable();
  });
  metrics.setSquidexSource(() => {
    const o = rt.availability.outage;
    if (o) return { state: o.kind === 'refused' ? 'refused' : 'unreachable', since: o.since };
    return { state: rt.state.jobs.pausedUntil() > Date.now() ? 'paused' : 'answering' };
  });
  metrics.setQueueDepthSource(() => rt.state.jobs.counts());
  metrics.setConcurrencySource(() => concurrencyNow(config, rt.limiter));
  // pause/resume and held deletions change in the state file behind the
  // daemon's back (the CLI writes them), so they are read at scrape time
  // (each scrape, never at start: the counts read the whole files table).
  const refreshGauges = (): void => {
    try {
      const paused = new Set(pausedMappings(rt.state, config));
      const stats = scanned(rt.state.db, () => rt.state.files.stats());
      for (const m of config.mappings) {
        metrics.setPaused(m.name, paused.has(m.name));
        metrics.setHeldDeletes(m.name, stats.get(m.name)?.missing ?? 0);
      }
    } catch (e) {
      logger.debug({ err: e }, 'cannot read pause flags for /metrics: %s', describeError(e));
    }
  };

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
  const verify = new BackgroundVerify({
    intervalMs: config.sync.verifyIntervalMs,
    mode: config.sync.serverChanges,
    mappings: config.mappings,
    ctx: rt.ctx,
    wake: () => rt.pool.wake(),
    paused: () => pausedMappings(rt.state, config),
  });

  let http: HttpServer | undefined;
  let probe: NodeJS.Timeout | undefined;
  let notifyTimer: NodeJS.Timeout | undefined;
  if (config.http.port > 0) {
    http = await startHttpServer({
      host: config.http.host,
      port: config.http.port,
      health: () => health.health(),
      // Exactly what `status --json` prints, so scripts can use either.
      status: () => collectStatus(rt.state, config),
      metrics: {
        contentType: metrics.contentType,
        text: () => {
          refreshGauges();
          return metrics.text();
        },
      },
      web: webFor(rt, config, { token: ensureToken(config.state), health, activity }),
      logger,
    });
    logger.info(
      { url: http.url },
      'local page on %s (run `squidex-sync open` for its address with the token); /health and /metrics there too',
      http.url,
    );
    // An idle daemon sends nothing; a cheap request now and then keeps /health honest
    // (while Squidex is away, the availability's own probes do). The probe is
    // single-flight: against a server that answers slowly, probes never pile up.
    const probeOnce = (): void => {
      if (rt.availability.outage) return;
      void rt.availability.check().then((e) => {
        if (e === undefined) health.serverReachable();
      });
    };
    probe = setInterval(probeOnce, config.http.healthProbeSeconds * 1000).unref();
    probeOnce();
  }
  if (config.notify.webhook) {
    const webhook = new WebhookNotifier({
      settings: config.notify,
      snapshot: () => {
        const s = collectStatus(rt.state, config);
        return {
          failed: s.failed,
          held: s.mappings.map((m) => ({ mapping: m.name, reason: m.guard })),
          waiting: s.totals.pending,
          drift: s.drift,
        };
      },
      server: () => health.server(),
      now: () => Date.now(),
      logger: logger.child({ component: 'notify' }),
    });
    notifyTimer = setInterval(() => {
      try {
        webhook.tick();
      } catch (e) {
        logger.debug({ err: e }, 'notify: cannot read the state: %s', describeError(e));
      }
    }, 2000).unref();
  }

  let signals = 0;
  let stopAsked = false;
  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stopRequested = () => {
      stopAsked = true;
      resolve();
    };
  });
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
  let exitCode: number = EXIT.OK;
  // What the stop still waits for, named if it overruns (see hardStopAfter).
  const pending = new Set<string>();
  const step = async <T>(name: string, work: Promise<T> | T): Promise<T> => {
    pending.add(name);
    try {
      return await work;
    } finally {
      pending.delete(name);
    }
  };
  let hardStop: NodeJS.Timeout | undefined;
  const stateWatch = watchStateFile(config.state, (e) => {
    logger.error({ code: e.code }, '%s', describeError(e));
    // The file now at that path is not the one checked at close: never mark it clean.
    noteStateTrouble(config.state);
    exitCode = EXIT.FAILED_PATHS;
    stopRequested();
  });

  try {
    // The token and the app check go out while the watchers start and the start rescan compares
    // the tree: in a row they were two round trips before the watch began. Jobs and the folders
    // made ahead wait for them, so nothing is created on the server before they passed.
    const checked = preflight(rt.client, config, logger, { unreachable: 'continue', availability: rt.availability }).then(() => {
      // Files an earlier version failed while Squidex was away: it answers now (else they wait for it to).
      if (!rt.availability.outage && !stopAsked) reviveLegacyFailures(rt.state, logger);
    });
    // A stop asked before they passed takes no job at all, as when the daemon started only after them.
    const gate = checked.then(() => {
      if (stopAsked) throw new SyncError('STOPPING', 'squidex-sync is stopping');
    });
    rt.ahead.holdUntil(gate);
    const starting = stopAsked ? Promise.resolve() : daemon.start(gate);
    try {
      // A wrong secret or app exits 3 here; a SIGTERM while Squidex is slow to answer still stops at once.
      await Promise.race([checked, stopped]);
    } catch (e) {
      await daemon.stop();
      await starting.catch(() => undefined);
      throw e;
    }
    await Promise.race([starting, stopped]);
    // READY=1 after a stop was asked would tell systemd a stopping daemon has just come up.
    if (!stopAsked) {
      await notifier.ready('watching');
      notifier.startWatchdog();
      logger.info({ mappings: config.mappings.length }, 'squidex-sync is running');
      verify.start();
    }
    await stopped;
    hardStop = hardStopAfter(config.sync.shutdownTimeoutMs + HARD_STOP_GRACE_MS, pending, { logger });
    await step('verify', verify.stop());
    await step('systemd', notifier.stopping('draining'));
    // Side by side: the rescan ends at its next folder, uploads drain meanwhile.
    await Promise.all([step('watchers', daemon.stop()), step('uploads', rt.pool.stop(config.sync.shutdownTimeoutMs))]);
    await step(
      'start',
      starting.catch(() => undefined),
    );
  } finally {
    stateWatch.close();
    await step('verify', verify.stop());
    clearInterval(probe);
    clearInterval(notifyTimer);
    notifier.close();
    await step(
      'page',
      http?.close().catch(() => undefined),
    );
    await step('state', rt.close());
    clearTimeout(hardStop);
  }
  logger.info('stopped');
  return exitCode;
}
