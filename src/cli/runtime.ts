import { loadConfig, type Config, type Mapping } from '../config/index.js';
import { BoundedMap } from '../lib/bounded.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { FolderResolver, ROOT_FOLDER_ID, type SquidexClient } from '../squidex/index.js';
import { Availability } from '../squidex/availability.js';
import { type AdaptiveLimiter, workersFor } from '../squidex/limiter.js';
import type { UploadGate } from '../squidex/gate.js';
import { aheadShare, connect, probeBackoff, type Connection } from './connect.js';
import { recordLimit } from './pace.js';
import { followOutage, OUTAGE_KEY } from '../worker/outage.js';
import { acquireLock, openState, type State, type StateLock } from '../state/index.js';
import { closesClean, markClean, openedAs, takeCleanMark } from '../state/clean.js';
// Not the watch index: it loads the watcher, which once never needs.
import { compileIgnore, type IgnoreMatcher } from '../watch/ignore.js';
import { ignoreSpec } from '../watch/ignore.js';
import type { WalkFeed } from '../watch/merge.js';
import { AdoptionIndex } from '../worker/adopt.js';
import type { ReconcileContext, SyncEvents } from '../worker/context.js';
import { WorkerPool } from '../worker/pool.js';
import { FoldersAhead } from '../worker/ahead.js';
import { reconcile } from '../worker/reconcile.js';
import { rescanMapping, type RescanResult, type Settle } from '../worker/rescan.js';
import { markCreated, removeEmptyFolders } from '../worker/emptied.js';
import { guardKey } from '../worker/deleteguard.js';
import { pinRoot } from '../worker/openfile.js';
import { ServerChangeGuard } from '../verify/guard.js';
import { BigUploads } from '../worker/bigupload.js';

export { aheadShare, clientFor, probeBackoff } from './connect.js';

/** Everything one run of the daemon or of `once` works with, built from the config. */
export interface Runtime {
  config: Config;
  logger: Logger;
  clock: Clock;
  state: State;
  client: SquidexClient;
  /** Whether Squidex answers; while it does not, the pool stops and files wait without spending attempts. */
  availability: Availability;
  ctx: ReconcileContext;
  pool: WorkerPool;
  /** Asset folders of the files a rescan queued, made ahead of the workers; stopped with the daemon. */
  ahead: FoldersAhead;
  /** `sync.concurrency: auto`: the requests allowed at once now; undefined when the config pins a number. */
  limiter: AdaptiveLimiter | undefined;
  /** A pinned `sync.concurrency`: the uploads on the wire at once; undefined under auto. */
  uploads: UploadGate | undefined;
  ignores: Map<string, IgnoreMatcher>;
  /** `signal`: ends the walk early (a stop); the rescan then rejects with its reason. `settle`: the daemon's stability gate. */
  rescan(
    mapping: Mapping,
    opts?: { allowMassDelete?: boolean; walk?: WalkFeed; signal?: AbortSignal; settle?: Settle },
  ): Promise<RescanResult>;
  /**
   * Removes asset folders left empty by moves and deletes (never while the guard holds):
   * under deletes: delete every one, under keep those squidex-sync created.
   */
  cleanupFolders(mapping: Mapping, signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger: Logger;
  clock?: Clock;
  events?: SyncEvents;
  allowMassDelete?: boolean;
  /** A lock already taken (start waits for it); otherwise openRuntime takes it or throws STATE_LOCKED. */
  lock?: StateLock;
  /** Client, limiter and upload gate made earlier (`once` sends its token before the state opens); else made here. */
  connection?: Connection;
  /** false: this run rescans nothing (verify --repair), so files missed earlier do not wait for a rescan (ReconcileContext.firstLook). */
  rescans?: boolean;
}

/**
 * `secrets: 'unused'` for commands that only read or flag the state database:
 * they must work where the secret is not in the environment (it often lives in
 * a file only systemd or pm2 reads).
 */
export function readConfig(file: string, missingLocal: 'error' | 'allow', secrets: 'required' | 'unused' = 'required'): Config {
  return loadConfig(file, process.env, { missingLocal, secrets });
}

/**
 * The daemon waits a while for the state lock before giving up: a previous
 * daemon may still be draining its uploads (systemd/pm2 restart), and exit 2
 * is never restarted. A second daemon that keeps the lock still gets a clear
 * refusal naming it, only later.
 */
export async function acquireLockPatiently(stateFile: string, waitMs: number, logger: Logger): Promise<StateLock> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return acquireLock(stateFile);
    } catch (e) {
      if (!(e instanceof SyncError && e.code === 'STATE_LOCKED') || Date.now() >= deadline) throw e;
      if (!told) {
        told = true;
        logger.warn('%s Waiting up to %d s for it to exit.', describeError(e), Math.round(waitMs / 1000));
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** meta key: the serverKey() this state last saw answer (`once` checks the app when it changed). */
export const SERVER_META_KEY = 'server';

/** Which Squidex (and app) the state's uploads and remembered chunk size belong to. */
export function serverKey(config: Config): string {
  return `${config.squidex.url}|${config.squidex.app}`;
}

function availabilityFor(config: Config, client: SquidexClient, clock: Clock, logger: Logger): Availability {
  const { baseMs, maxMs } = probeBackoff(config);
  return new Availability({
    clock,
    logger: logger.child({ component: 'squidex' }),
    baseMs,
    maxMs,
    refusedMs: 3 * maxMs,
    async probe() {
      await client.token();
      await client.listFolders(ROOT_FOLDER_ID);
    },
  });
}

/** The outage record says something only while its process runs. Written only when there is one: a clean restart commits nothing. */
function forgetOutage(state: State): void {
  try {
    if (state.meta.get(OUTAGE_KEY) !== undefined) state.meta.delete(OUTAGE_KEY);
  } catch {
    // a state that refuses writes is reported by whatever uses it next
  }
}

/** meta key of the pause flag of one mapping, or of all with '*'. */
export function pauseKey(mapping: string): string {
  return `paused:${mapping}`;
}

export function pausedMappings(state: State, config: Config): string[] {
  if (state.meta.get(pauseKey('*'))) return config.mappings.map((m) => m.name);
  return config.mappings.filter((m) => state.meta.get(pauseKey(m.name))).map((m) => m.name);
}

export function ignoreFor(config: Config, m: Mapping): IgnoreMatcher {
  return compileIgnore(ignoreSpec(m, config.state), m.local);
}

/** Opens the state (holding the single-instance lock) and wires client, resolver and pool. */
export function openRuntime(config: Config, opts: RuntimeOptions): Runtime {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger;
  const lock: StateLock = opts.lock ?? acquireLock(config.state);
  let state: State;
  try {
    state = openState(config.state, {
      clock,
      // Only the lock holder may trust (and consume) the clean-close marker: nobody else writes meanwhile.
      verify: !takeCleanMark(config.state),
      queue: {
        debounceMs: config.sync.debounceMs,
        maxWaitMs: config.sync.maxWaitMs,
        maxAttempts: config.sync.maxAttempts,
        backoffBaseMs: config.sync.backoffBaseMs,
        backoffMaxMs: config.sync.backoffMaxMs,
        maxPauseMs: config.sync.maxServerPauseSeconds * 1000,
      },
    });
  } catch (e) {
    lock.release();
    throw e;
  }
  const opened = openedAs(config.state);
  // The boundary every file read is checked against, taken now: a root swapped for a symlink later does not move it.
  for (const m of config.mappings) pinRoot(m.local);
  const connection = opts.connection ?? connect(config, logger, clock);
  connection.attach(state.jobs);
  const { client, limiter, uploads } = connection;
  const pinned = config.sync.concurrency === 'auto' ? undefined : config.sync.concurrency;
  const adoption = new AdoptionIndex(client, clock);
  /** When each mapping's first rescan of this run ended. */
  const looked = new Map<string, number>();
  const ctx: ReconcileContext = {
    state,
    client,
    // A folder we create is empty: the adoption lookup skips listing it (a first sync costs no listing per folder).
    resolver: new FolderResolver(client, state.folders, {
      onCreated: (id) => {
        adoption.primeEmpty(id);
        // Ours to remove again once moves empty it (deletes: keep); an editor's folder never is.
        markCreated(state, id);
      },
    }),
    adoption,
    clock,
    logger,
    mappings: new Map(config.mappings.map((m) => [m.name, m])),
    moveWindowMs: config.sync.moveWindowMs,
    firstLook: opts.rescans === false ? undefined : (name) => looked.get(name) ?? null,
    allowMassDelete: opts.allowMassDelete ?? false,
    guard: config.deleteGuard,
    stabilityMs: config.sync.stabilityMs,
    // A miss costs a file that keeps changing a few more tries before it counts as failing.
    unstable: new BoundedMap(10_000),
    events: opts.events,
    serverChanges: new ServerChangeGuard({ client, state, logger, clock, mode: config.sync.serverChanges }),
    big: new BigUploads({
      client,
      state,
      clock,
      logger: logger.child({ component: 'worker' }),
      server: serverKey(config),
      chunkBytes: config.upload.chunkBytes,
      tusAboveBytes: config.upload.tusAboveBytes,
      events: opts.events,
    }),
  };
  const availability = availabilityFor(config, client, clock, logger);
  const pool = new WorkerPool(
    { ...ctx, run: (job, run, signal) => reconcile(job, { ...ctx, ...run }, signal) },
    {
      // A few more jobs than the limit (workersFor), to keep it full while each job reads, hashes and records
      // its file; the extra ones wait for room before they send.
      concurrency: limiter ? () => workersFor(limiter.limit) : workersFor(pinned!),
      pausedMappings: () => pausedMappings(state, config),
      availability,
    },
  );
  // A quarter of the requests allowed at once: the uploads keep the rest of the limit.
  const ahead = new FoldersAhead(ctx.resolver, {
    inFlight: () => aheadShare(limiter ? limiter.limit : pinned!),
    blocked: () => availability.blocked() || state.jobs.pausedUntil() > clock.now(),
  });
  forgetOutage(state); // one left by a process that died says nothing about now
  const stopRecording = recordLimit(limiter, state, logger);
  followOutage(availability, { state, logger, resumed: () => pool.wake() });
  const ignores = new Map(config.mappings.map((m) => [m.name, ignoreFor(config, m)]));
  return {
    config,
    logger,
    clock,
    state,
    client,
    availability,
    ctx,
    pool,
    ahead,
    limiter,
    uploads,
    ignores,
    async rescan(mapping, o = {}) {
      const result = await rescanMapping(mapping, ignores.get(mapping.name)!, {
        state,
        clock,
        logger,
        guard: config.deleteGuard,
        allowMassDelete: o.allowMassDelete ?? opts.allowMassDelete,
        server: { client, resolver: ctx.resolver },
        walk: o.walk,
        signal: o.signal,
        settle: o.settle,
        // Each batch queued wakes the pool: one already started takes it now, not at its next look.
        ahead: pausedMappings(state, config).includes(mapping.name)
          ? undefined
          : {
              add: (m, paths) => {
                ahead.add(m, paths);
                pool.wake();
              },
            },
      });
      if (!looked.has(mapping.name)) looked.set(mapping.name, clock.now());
      pool.wake();
      return result;
    },
    async cleanupFolders(mapping, signal) {
      if (state.meta.get(guardKey(mapping.name))) return 0;
      return removeEmptyFolders(mapping, { state, client, logger, cached: state.folders.entries(), signal });
    },
    async close() {
      ahead.stop();
      availability.close();
      stopRecording();
      forgetOutage(state);
      await client.close().catch(() => undefined);
      let clean = false;
      try {
        clean = closesClean(state.db, config.state, opened);
      } finally {
        state.close();
      }
      if (clean) markClean(config.state);
      lock.release();
    },
  };
}
