import path from 'node:path';
import { SyncError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { EventsWatcher } from './events.js';
import type { IgnoreMatcher } from './ignore.js';
import type { WatchBackend } from './parcel.js';
import { PollWatcher } from './pollwatch.js';
import { StabilityGate } from './stability.js';
import type { FileStat } from './walk.js';

export type WatchKind = 'add' | 'change' | 'unlink' | 'addDir' | 'unlinkDir';

export interface WatcherOptions {
  root: string;
  ignore: IgnoreMatcher;
  /** events: @parcel/watcher (inotify, FSEvents, ReadDirectoryChangesW). poll: a stat walk every pollIntervalMs (shares whose events are lost). */
  mode: 'events' | 'poll';
  /** A file is reported only after it has not changed for this long. */
  stabilityMs: number;
  /** Poll mode only; default 5000. */
  pollIntervalMs?: number;
  /**
   * A hint that `relPath` needs reconciling. add/change come only once the file is
   * stable, with the size and mtime seen then. unlink/unlinkDir come at once.
   * addDir means "a folder appeared (or must be looked at again): walk it"; the
   * files in a folder moved or copied in are also reported one by one as add.
   * On Linux a folder that came with subfolders is reported a second time once
   * those are watched too: what changed in them before is for the walk to find.
   */
  onPath(relPath: string, kind: WatchKind, stat?: FileStat): void;
  /**
   * Never thrown. WATCH_LIMIT, or WATCH_FAILED with retry 'never': the watch
   * is over (reported once; fall back to rescans). WATCH_FAILED with retry
   * 'retry': it recovers by itself (a mapping folder that vanished is watched
   * again when it is back, with an addDir of '').
   */
  onError(err: SyncError): void;
  logger?: Logger;
  /** Events mode: the native watcher (tests pass a fake). */
  backend?: WatchBackend;
}

export interface Watcher {
  /** Resolves when every folder is watched (events) or the first snapshot is taken (poll). Never rejects. */
  ready: Promise<void>;
  /** Files seen changing but not yet stable; for status and tests. */
  pendingCount(): number;
  close(): Promise<void>;
}

const LIMIT_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE']);

/** Turns a raw fs error into the SyncError the caller acts on. `fatal`: the watch is over, rescans take over. */
export function classifyWatchError(e: unknown, root: string, rel = '', fatal = false): SyncError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const where = rel === '' ? root : path.join(root, rel);
  if (code && LIMIT_CODES.has(code)) {
    return new SyncError(
      'WATCH_LIMIT',
      `cannot watch ${where}: the system limit on watched folders or open files is reached (${code}); changes are picked up by periodic rescans instead.`,
      {
        cause: e,
        retry: 'never',
        hint:
          code === 'ENOSPC'
            ? 'Raise the inotify limit: `sudo sysctl fs.inotify.max_user_watches=524288`, and make it stick with a line `fs.inotify.max_user_watches=524288` in /etc/sysctl.d/90-squidex-sync.conf.'
            : 'Raise the open-file limit (LimitNOFILE= in the systemd unit, `ulimit -n` otherwise) or `sudo sysctl fs.inotify.max_user_instances=1024` (/etc/sysctl.d/90-squidex-sync.conf).',
      },
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (fatal) {
    return new SyncError('WATCH_FAILED', `watching ${where} failed: ${msg}; changes are picked up by periodic rescans instead.`, {
      cause: e,
      retry: 'never',
      hint: 'Restart the daemon to watch again; if it keeps failing, set `watch: poll` for this mapping.',
    });
  }
  return new SyncError('WATCH_FAILED', `watching ${where} failed: ${msg}`, { cause: e, retry: 'retry' });
}

/**
 * Watches one mapping and reports relative paths. Never throws after returning:
 * every failure goes to onError. The caller rescans at start, so files that
 * exist before the watch starts are not reported (ignoreInitial).
 */
export function startWatcher(opts: WatcherOptions): Watcher {
  const log = opts.logger ?? silentLogger;
  const root = path.resolve(opts.root);
  const base = root.endsWith('/') ? root : `${root}/`;
  let closed = false;
  let overReported = false;

  const fail = (e: unknown, rel: string, fatal = false): void => {
    if (closed) return;
    const err = classifyWatchError(e, root, rel, fatal);
    if (err.code === 'WATCH_LIMIT' || fatal) {
      if (overReported) return;
      overReported = true;
    }
    try {
      opts.onError(err);
    } catch (cbErr) {
      log.warn({ err: cbErr }, 'watch onError callback threw');
    }
  };
  const report = (rel: string, kind: WatchKind, stat?: FileStat): void => {
    if (closed) return;
    try {
      opts.onPath(rel, kind, stat);
    } catch (cbErr) {
      log.warn({ err: cbErr, path: rel, kind }, 'watch onPath callback threw');
    }
  };

  const gate = new StabilityGate(base, opts.stabilityMs, (rel, kind, stat) => report(rel, kind, stat), { onTickError: (e) => fail(e, '') });
  let closeInner: () => Promise<void>;
  let ready: Promise<void>;

  if (opts.mode === 'poll') {
    const interval = opts.pollIntervalMs ?? 5000;
    const pw = new PollWatcher(root, opts.ignore, interval, {
      gate,
      report,
      walkProblem: (code, message, rel) => fail(Object.assign(new Error(message), { code }), rel),
    });
    ready = pw.start().catch((e: unknown) => fail(e, ''));
    closeInner = () => pw.close();
  } else {
    const ew = new EventsWatcher(root, opts.ignore, { gate, report, fail }, opts.backend);
    ready = ew
      .start()
      .then(() => log.debug({ root, folders: ew.watchedDirs }, 'watching'))
      .catch((e: unknown) => fail(e, '', true));
    closeInner = () => ew.close();
  }

  return {
    ready,
    pendingCount: () => gate.size,
    async close() {
      if (closed) return;
      closed = true;
      gate.close();
      // Inner close first: it stops a folder scan still in progress, so `ready` settles soon.
      await closeInner();
      await ready;
    },
  };
}
