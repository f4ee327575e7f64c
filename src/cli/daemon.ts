import type { Mapping } from '../config/index.js';
import { describeError, SyncError } from '../lib/errors.js';
import { detectFsType, StabilityGate, startWatcher, type FileStat, type Watcher } from '../watch/index.js';
import { DEFAULTS } from '../config/index.js';
import { createEnqueueBuffer, type EnqueueBuffer } from '../state/jobs.js';
import { scanCache } from '../state/index.js';
import type { Runtime } from './runtime.js';
import { SLEEP_GAP_MS, SLEEP_TICK_MS, watchForSleep } from './sleep.js';
import { timerDelay } from '../lib/timers.js';
import { rescanFields } from '../worker/rescan.js';

export type MappingMode = 'events' | 'poll' | 'rescan';

type RescanReason = 'rescan' | 'change';

interface Watched {
  mapping: Mapping;
  mode: MappingMode;
  network: boolean;
  /** The file system could not be told (no mount table to read): events, but rescans more often. */
  unknownFs: boolean;
  watcher?: Watcher;
  /** What a rescan finds still being written waits here until it is quiet, as watcher events do in the watcher's. */
  settle: StabilityGate<RescanReason>;
  timer?: NodeJS.Timeout;
  rescanSoon?: NodeJS.Timeout;
  rescanning?: Promise<unknown>;
  /** Folders that appeared or vanished: their file events wait for the rescan, which can see a whole-folder rename. */
  pendingDirs: Set<string>;
  /** A rescan was asked for while one ran. */
  again?: boolean;
  /** Rescans that failed in a row (state disk full, …); each is tried again sooner than the periodic timer. */
  failedRescans?: number;
}

/** How soon after a folder-level event (a folder removed or renamed) the mapping is rescanned. */
const FOLDER_EVENT_RESCAN_MS = 1500;

/**
 * The long-running part of `start`: a full rescan per mapping, then a
 * watcher (or none, on network shares in auto mode) and a rescan timer per
 * mapping, feeding the queue the worker pool drains.
 */
export class Daemon {
  readonly #watched: Watched[] = [];
  #stopped = false;
  /** Ends running walks at a stop: on a network share a rescan can outlast the service manager's stop timeout. */
  readonly #abort = new AbortController();
  /** Empty asset folders being removed: a stop cuts their requests and waits for them to end. */
  readonly #cleaning = new Set<Promise<void>>();
  /** Watcher events in one transaction per flush: one fsync per burst, not per event. */
  readonly #events: EnqueueBuffer;
  #sleepWatch: { stop(): void } | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly hooks: {
      watcherState?(mapping: string, mode: MappingMode, running: boolean): void;
      rescanned?(mapping: string, seconds: number): void;
    } = {},
  ) {
    this.#events = createEnqueueBuffer(rt.state.jobs, {
      // Reported once, then once a minute while it lasts (with the tries since), not per event.
      onError: (e, failures) =>
        rt.logger.error(
          { code: (e as SyncError).code, failures },
          'cannot record file events (tried again with back-off): %s',
          describeError(e),
        ),
      onRecovered: (failures, dropped) => {
        rt.logger.info(
          { failures },
          dropped ? 'file events are recorded again; some were dropped meanwhile, rescanning' : 'file events are recorded again',
        );
        if (dropped) for (const w of this.#watched) this.#rescanSoon(w);
      },
    });
  }

  get modes(): Array<{ mapping: string; mode: MappingMode; network: boolean }> {
    return this.#watched.map((w) => ({ mapping: w.mapping.name, mode: w.mode, network: w.network }));
  }

  /**
   * Watches, then rescans every mapping. `checked` (the preflight): jobs are taken
   * only once it passed, while the watchers start and the rescans compare meanwhile;
   * after a refusal the caller stops the daemon before any job was taken.
   */
  async start(checked?: Promise<unknown>): Promise<void> {
    if (!checked) this.rt.pool.start();
    else
      checked.then(
        () => {
          if (!this.#stopped) this.rt.pool.start();
        },
        () => undefined,
      );
    for (const mapping of this.rt.config.mappings) {
      const fs = detectFsType(mapping.local);
      const mode: MappingMode = mapping.watch === 'auto' ? (fs.network ? 'rescan' : 'events') : mapping.watch;
      const w: Watched = {
        mapping,
        mode,
        network: fs.network,
        unknownFs: fs.fsType === 'unknown',
        pendingDirs: new Set(),
        settle: this.#settleGate(mapping),
      };
      this.#watched.push(w);
      this.rt.logger.info(
        { mapping: mapping.name, local: mapping.local, remote: mapping.remote || '/', fsType: fs.fsType, mode },
        mode === 'rescan' ? 'watching %s by periodic rescans (network file system %s: its change events are not reliable)' : 'watching %s',
        mapping.local,
        fs.fsType,
      );
    }
    // Watch first, then rescan: a file written during the start rescan is
    // then seen by one or the other (both is fine: jobs coalesce).
    for (const w of this.#watched) if (w.mode !== 'rescan') this.#watch(w);
    await Promise.all(this.#watched.map((w) => w.watcher?.ready));
    if (this.#stopped) return;
    await Promise.all(this.#watched.map((w) => this.#rescan(w)));
    for (const w of this.#watched) {
      if (this.#stopped) return;
      this.hooks.watcherState?.(w.mapping.name, w.mode, true);
      this.#schedule(w);
    }
    this.#sleepWatch = watchForSleep({ clock: this.rt.clock, tickMs: SLEEP_TICK_MS, gapMs: SLEEP_GAP_MS, onWake: (ms) => this.#woke(ms) });
  }

  /**
   * The machine slept: the token may have lapsed meanwhile, Squidex may be back (or
   * gone), a share may have been unmounted and mounted again, and its events are lost.
   */
  #woke(sleptMs: number): void {
    if (this.#stopped) return;
    this.rt.logger.info(
      { sleptSeconds: Math.round(sleptMs / 1000) },
      'woke after about %d s asleep: refreshing the Squidex token and rescanning every mapping',
      Math.round(sleptMs / 1000),
    );
    this.rt.client.refreshToken().then(
      () => this.rt.availability.wake(),
      (e) => this.rt.availability.failed(e),
    );
    for (const w of this.#watched) void this.#rescan(w);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sleepWatch?.stop();
    this.#abort.abort(new SyncError('STOPPING', 'squidex-sync is stopping'));
    this.rt.ahead.stop(); // no new folder during the drain: the uploads it would serve are not started
    for (const w of this.#watched) {
      clearTimeout(w.timer);
      clearTimeout(w.rescanSoon);
      w.settle.close();
      await w.watcher?.close().catch(() => undefined);
    }
    this.#events.close();
    await Promise.all(this.#watched.map((w) => w.rescanning?.catch(() => undefined)));
    await Promise.all(this.#cleaning);
  }

  #interval(w: Watched): number {
    const r = w.mapping.rescanIntervalMs;
    if (r !== 'auto') return r;
    if (w.network || w.mode !== 'events') return DEFAULTS.rescanAuto.networkMs;
    return w.unknownFs ? DEFAULTS.rescanAuto.unknownMs : DEFAULTS.rescanAuto.localMs;
  }

  #settleGate(mapping: Mapping): StabilityGate<RescanReason> {
    const root = mapping.local.endsWith('/') ? mapping.local : `${mapping.local}/`;
    return new StabilityGate<RescanReason>(
      root,
      this.rt.config.sync.stabilityMs,
      (rel, reason) => {
        this.#events.add(mapping.name, rel, reason, 0);
        this.#wakeSoon();
      },
      {
        onTickError: (e) =>
          this.rt.logger.warn({ mapping: mapping.name, err: e }, 'checking files still being written failed: %s', describeError(e)),
        // `change` (it changed since it failed) revives a failed job; a plain `rescan` hit does not.
        merge: (held, next) => (held === 'change' ? held : next),
      },
    );
  }

  /**
   * A file a rescan found is queued at once only when its mtime is older than
   * the stability window; one still being written (a folder being copied in)
   * waits in the mapping's gate until it is quiet, and is queued then.
   */
  #settleYoung(w: Watched, path: string, st: FileStat, reason: RescanReason): boolean {
    const stabilityMs = this.rt.config.sync.stabilityMs;
    const now = Date.now();
    if (st.mtimeMs <= now && now - st.mtimeMs >= stabilityMs) return false;
    // An mtime in the future (another machine's clock): the gate compares two looks a window apart.
    w.settle.touch(path, reason, st.mtimeMs <= now ? st.mtimeMs + stabilityMs : now + stabilityMs);
    return true;
  }

  #schedule(w: Watched): void {
    if (this.#stopped) return;
    clearTimeout(w.timer);
    w.timer = setTimeout(() => void this.#rescan(w).finally(() => this.#schedule(w)), timerDelay(this.#interval(w)));
    w.timer.unref();
  }

  #rescan(w: Watched): Promise<unknown> {
    // One rescan per mapping at a time. A request during one cannot join it
    // (its walk may have passed the folder that asked): it runs right after.
    if (w.rescanning) {
      w.again = true;
      return w.rescanning;
    }
    const log = this.rt.logger.child({ mapping: w.mapping.name });
    // Held until this rescan is done, not only until it starts: with the default
    // stability window (2 s) the files of a renamed folder are reported after the
    // rescan began (1.5 s), and run as per-file moves while the rescan renames
    // the folder, they made a second asset folder of the same name.
    const held = [...w.pendingDirs];
    log.debug('rescan started');
    // Its ordered read goes through the whole files table once: pages kept would stay kept.
    const uncache = scanCache(this.rt.state.db);
    w.rescanning = this.rt
      .rescan(w.mapping, { signal: this.#abort.signal, settle: (path, st, reason) => this.#settleYoung(w, path, st, reason) })
      .then((r) => {
        for (const dir of held) w.pendingDirs.delete(dir);
        w.failedRescans = 0;
        log.info(
          rescanFields(r),
          'rescan: %d files, %d to check (%d still being written), %d gone',
          r.files,
          r.changed,
          r.settling,
          r.gone,
        );
        this.hooks.rescanned?.(w.mapping.name, r.ms / 1000);
        // Under keep only folders squidex-sync created and moves emptied go: look when something moved or vanished.
        if (w.mapping.deletes === 'delete' || r.gone > 0 || r.renamed > 0 || held.length > 0) this.#cleanupLater(w);
      })
      .catch((e) => {
        if (this.#stopped) {
          // What it did not reach, the rescan at the next start finds.
          log.info('rescan stopped: squidex-sync is stopping');
          return;
        }
        log.error({ code: (e as SyncError).code }, 'rescan failed: %s', describeError(e));
        // What it would have found (files of a new folder, changes while events were lost)
        // has no other way in before the periodic rescan, an hour away on a local disk:
        // try again soon, backing off to a minute while it keeps failing.
        w.failedRescans = (w.failedRescans ?? 0) + 1;
        if (!this.#stopped) this.#rescanSoon(w, Math.min(60_000, 1000 * 2 ** Math.min(w.failedRescans, 6)));
      })
      .finally(() => {
        uncache();
        w.rescanning = undefined;
        if (w.again && !this.#stopped) {
          w.again = false;
          void this.#rescan(w);
        }
      });
    return w.rescanning;
  }

  #wakeTimer: NodeJS.Timeout | undefined;
  /** Wake the pool right after the event buffer's flush. */
  #wakeSoon(): void {
    if (this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.rt.pool.wake();
    }, 30);
  }

  /** Empty asset folders once the deletes and moves of this rescan had their move window. */
  #cleanupLater(w: Watched): void {
    const t = setTimeout(
      () => {
        if (this.#stopped) return;
        const cleaning: Promise<void> = this.rt.cleanupFolders(w.mapping, this.#abort.signal).then(
          () => undefined,
          (e) => {
            // Cut by a stop: the next start's cleanup does the rest.
            if (this.#stopped) return;
            this.rt.logger.warn(
              { mapping: w.mapping.name, code: (e as SyncError).code },
              'removing empty asset folders failed: %s',
              describeError(e),
            );
          },
        );
        this.#cleaning.add(cleaning);
        void cleaning.finally(() => this.#cleaning.delete(cleaning));
      },
      timerDelay(2 * this.rt.config.sync.moveWindowMs + 2000),
    );
    t.unref();
  }

  #rescanSoon(w: Watched, delayMs = FOLDER_EVENT_RESCAN_MS): void {
    clearTimeout(w.rescanSoon);
    w.rescanSoon = setTimeout(() => void this.#rescan(w), timerDelay(delayMs));
    w.rescanSoon.unref();
  }

  #watch(w: Watched): void {
    const { mapping } = w;
    const log = this.rt.logger.child({ mapping: mapping.name, component: 'watch' });
    w.watcher = startWatcher({
      root: mapping.local,
      ignore: this.rt.ignores.get(mapping.name)!,
      mode: w.mode === 'poll' ? 'poll' : 'events',
      stabilityMs: this.rt.config.sync.stabilityMs,
      logger: log,
      onPath: (relPath, kind) => {
        if (kind === 'unlinkDir' || kind === 'addDir') {
          // A folder that vanished or appeared: let a rescan list exactly
          // which files are gone or new instead of trusting a burst of
          // events, so a renamed folder is renamed on the server, not moved
          // file by file.
          w.pendingDirs.add(relPath);
          this.#rescanSoon(w);
          return;
        }
        for (const dir of w.pendingDirs) {
          if (dir !== '' && !relPath.startsWith(`${dir}/`)) continue;
          // The running rescan may have walked past this file already: look once more after it.
          if (w.rescanning) w.again = true;
          return;
        }
        // add/change come after the stability window: the file is quiet already,
        // so the job is due at once (a second debounce would only add latency).
        this.#events.add(mapping.name, relPath, kind, kind === 'unlink' ? undefined : 0);
        this.#wakeSoon();
      },
      onError: (err) => {
        // A limit, or a watch that is over: reported once by the watcher; the timer's rescans take over.
        if (err.code === 'WATCH_LIMIT' || err.retry === 'never') {
          log.error({ code: err.code }, '%s', describeError(err));
          w.mode = 'rescan';
          this.hooks.watcherState?.(mapping.name, 'rescan', true);
          this.#schedule(w);
        } else {
          log.warn({ code: err.code }, '%s', describeError(err));
          this.#rescanSoon(w);
        }
      },
    });
  }
}
