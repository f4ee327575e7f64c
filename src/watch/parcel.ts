import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { reapplyV8Flags } from '../lib/v8flags.js';

export interface WatchEvent {
  /** Absolute, in the platform's spelling. */
  path: string;
  type: 'create' | 'update' | 'delete';
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

/** The native watcher, behind the little the events mode needs of it (tests pass a fake). */
export interface WatchBackend {
  /**
   * 'inotify' watches one folder at a time and adds a watch only for the folder
   * an event names, so the subfolders of a folder moved in (or renamed) are not
   * watched until the tree is subscribed again. FSEvents and ReadDirectoryChangesW
   * watch the whole tree natively.
   */
  readonly name: string;
  /** Resolves once every folder not under `ignorePaths` is watched. Errors carry the errno `code` when known. */
  subscribe(dir: string, onEvents: (err: Error | null, events: WatchEvent[]) => void, ignorePaths: string[]): Promise<Subscription>;
}

interface ParcelModule {
  subscribe(
    dir: string,
    fn: (err: Error | null, events: WatchEvent[]) => void,
    opts: { ignore?: string[]; backend?: string },
  ): Promise<Subscription>;
}

let parcel: ParcelModule | undefined;
/** Subscriptions alive in this process: the native backend (one inotify instance) lives as long as one does. */
let live = 0;

// @parcel/watcher reports the C library's strerror text; the callers act on errno codes.
const ERRNO_TEXT: ReadonlyArray<[RegExp, string]> = [
  [/no space left on device/i, 'ENOSPC'],
  [/too many open files in system/i, 'ENFILE'],
  [/too many open files/i, 'EMFILE'],
  [/permission denied/i, 'EACCES'],
  [/no such file or directory/i, 'ENOENT'],
  [/not a directory/i, 'ENOTDIR'],
  [/bad file descriptor/i, 'ENOENT'], // what it says for a root that does not exist
];

/** The error with the errno code its message names, when it names one. */
export function withErrno(e: unknown): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  if ((err as NodeJS.ErrnoException).code) return err;
  const hit = ERRNO_TEXT.find(([re]) => re.test(err.message));
  return hit ? Object.assign(err, { code: hit[1] }) : err;
}

/**
 * The check's thread. A data: URL is an ES module whatever the process's
 * flags: code passed with `eval` follows --input-type (NODE_OPTIONS reaches
 * worker threads too), and under --input-type=module its `require` failed,
 * which read as a full inotify table.
 */
const PROBE = new URL(
  `data:text/javascript,${encodeURIComponent(`import { parentPort, workerData } from 'node:worker_threads';
import { watch } from 'node:fs';
try { watch(workerData).close(); parentPort.postMessage(null); }
catch (e) { parentPort.postMessage({ code: e.code, message: e.message }); }`)}`,
);

/**
 * The check could not run: that says nothing about the inotify limits, and
 * the error must not claim one, unless the thread itself lacked file
 * descriptors (a limit still).
 */
function probeFailed(why: string, cause?: unknown): Error {
  const own = cause === undefined ? undefined : withErrno(cause);
  const code = (own as NodeJS.ErrnoException | undefined)?.code;
  if (own && (code === 'EMFILE' || code === 'ENFILE')) return own;
  return Object.assign(new Error(`the check that inotify can watch it could not run (${why})`), { code: 'WATCH_PROBE_FAILED', cause });
}

/**
 * Can this process open one more inotify instance? Asked of a throwaway
 * thread: its own event loop opens one for fs.watch and closes it when the
 * thread ends. @parcel/watcher does not survive that failure: when
 * inotify_init fails it never signals that its thread started, and the
 * calling (JavaScript) thread waits forever, so the daemon would hang at
 * start with nothing in the log. An error here means: do not subscribe.
 * Only fs.watch's own error carries its errno (ENOSPC, EMFILE: a limit);
 * a thread that fails otherwise is WATCH_PROBE_FAILED. `script`: tests only.
 */
export function probeInotify(dir: string, script: URL = PROBE): Promise<Error | null> {
  return new Promise((resolve) => {
    let worker: Worker;
    try {
      worker = new Worker(script, { workerData: dir });
    } catch (e) {
      resolve(probeFailed(e instanceof Error ? e.message : String(e), e));
      return;
    }
    let answer: { code?: string; message: string } | null | undefined;
    let failed: Error | undefined;
    worker.once('message', (m: typeof answer) => (answer = m));
    worker.once('error', (e) => (failed = e));
    worker.once('online', reapplyV8Flags);
    worker.once('exit', () => {
      if (answer === null) resolve(null);
      else if (answer) resolve(Object.assign(new Error(answer.message), { code: answer.code }));
      else resolve(probeFailed(failed?.message ?? 'its thread ended without an answer', failed));
    });
  });
}

/**
 * @parcel/watcher, loaded on first use (only `start` watches). On Linux the
 * inotify backend is chosen outright: the default would prefer Watchman when
 * it is installed, and the daemon's behaviour should not depend on that.
 *
 * Folders to skip go in as absolute paths, never as globs: @parcel/watcher
 * matches globs with std::regex on every path of its initial crawl, which
 * makes a big tree slow to get ready; a few absolute paths cost nothing.
 */
export function parcelBackend(): WatchBackend {
  const name = process.platform === 'linux' ? 'inotify' : 'native';
  return {
    name,
    async subscribe(dir, onEvents, ignorePaths) {
      if (name === 'inotify' && live === 0) {
        const unavailable = await probeInotify(dir);
        if (unavailable) throw unavailable;
      }
      try {
        parcel ??= createRequire(import.meta.url)('@parcel/watcher') as ParcelModule;
        const sub = await parcel.subscribe(dir, onEvents, { ignore: ignorePaths, ...(name === 'inotify' ? { backend: 'inotify' } : {}) });
        live += 1;
        let done = false;
        return {
          async unsubscribe() {
            if (done) return;
            done = true;
            live -= 1;
            try {
              await sub.unsubscribe();
            } catch {
              // The kernel dropped the watches already (the folder was removed): nothing left to undo.
            }
          },
        };
      } catch (e) {
        throw withErrno(e);
      }
    },
  };
}
