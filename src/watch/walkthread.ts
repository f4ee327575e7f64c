import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { reapplyV8Flags } from '../lib/v8flags.js';
import type { IgnoreOptions } from './ignore.js';
import { openMerge, type FeedOptions, type OrderedRows, type StreamDiff, type WalkOutcome } from './merge.js';

export interface WalkJob {
  root: string;
  spec: IgnoreOptions;
}

/** Files a chunk, and chunks that may wait unread (the walk's lead over the merge). */
export const CHUNK = 2048;
export const MAX_CHUNKS = 16;
/** Files merged in one turn of the event loop while the merge queues work (a first sync). */
const SLICE = 256;

/** A job's taker once its merge is done: later messages (the thread's end) are dropped. */
const spent = (): void => {};

export type WalkMessage =
  | { i: number; kind: 'files'; n: number; paths: string; sizes: Float64Array; mtimes: Float64Array }
  | { i: number; kind: 'done'; outcome: WalkOutcome; peakHeld: number }
  | { i: number; kind: 'failed'; error: string };

export interface ThreadWalks {
  /**
   * The rescan's merge of job i, fed by the thread's walk as it goes; null
   * when the thread failed (the caller walks on its own thread instead).
   */
  diff(i: number, rows: OrderedRows, opts?: FeedOptions): Promise<StreamDiff | null>;
  /** Chunks the thread has posted and the merge has not taken yet: its lead, at most MAX_CHUNKS. */
  buffered(): number;
  /** Stops the thread if it is still walking (the run ended early). */
  close(): Promise<void>;
}

/**
 * Starts the walks of `once` on a thread of their own as soon as the config
 * is read, in the rescan's order: the walk (one lstat per file) is most of a
 * restart over an unchanged tree and needs nothing from the state or the
 * server, so this thread loads its modules, opens the state and gets a token
 * meanwhile, then merges the files with the table as they come, while the
 * thread walks on.
 *
 * null when the thread's script is not there (the sources run under a test
 * runner): the caller walks as the daemon does.
 */
export function startThreadWalks(jobs: WalkJob[]): ThreadWalks | null {
  // From this module's folder or from the bundle's (dist/cli, scripts/bundle.mjs): the same file.
  const script = new URL('../watch/walkworker.js', import.meta.url);
  if (jobs.length === 0 || !existsSync(fileURLToPath(script))) return null;
  const unread = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  let worker: Worker;
  try {
    worker = new Worker(script, { workerData: { jobs, unread, port: port2 }, transferList: [port2] });
  } catch {
    return null;
  }
  const queued = jobs.map(() => [] as WalkMessage[]);
  const takers: Array<((m: WalkMessage) => void) | undefined> = [];
  let dead = false;
  let closed: Promise<void> | undefined;
  const deliver = (m: WalkMessage): void => {
    const take = takers[m.i];
    if (take) take(m);
    else queued[m.i].push(m);
  };
  // No job may wait forever: a thread that dies or exits early leaves the rest to the caller.
  const giveUp = (): void => {
    dead = true;
    for (let i = 0; i < jobs.length; i++) deliver({ i, kind: 'failed', error: 'the walk thread ended' });
  };
  // Referenced: `once` awaits nothing else while the walk runs.
  port1.on('message', deliver);
  worker.once('online', reapplyV8Flags);
  worker.on('error', giveUp);
  // What the thread posted before it ended may still wait in the port: read it before giving up.
  worker.on('exit', () => {
    for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) deliver(m.message as WalkMessage);
    giveUp();
  });

  return {
    diff(i, rows, opts = {}) {
      const merge = openMerge(rows, opts);
      return new Promise((resolve) => {
        // Chunks taken but not yet merged, and how far into the first one the merge is.
        const pending: WalkMessage[] = [];
        let paths: string[] | undefined;
        let k = 0;
        let scheduled = false;
        let streamed = 0;
        const pump = (): void => {
          scheduled = false;
          for (let budget = SLICE; pending.length > 0; ) {
            const m = pending[0];
            if (m.kind !== 'files') {
              // Not a closure of this scope: it would keep the merge, and the diff it resolved, for the rest of the run.
              takers[i] = spent;
              pending.length = 0;
              resolve(m.kind === 'done' ? merge.result(m.outcome, m.peakHeld) : null);
              return;
            }
            paths ??= m.paths.split('\0');
            const end = Math.min(m.n, k + budget);
            budget -= end - k;
            for (; k < end; k++) merge.file(paths[k], m.sizes[k], m.mtimes[k]);
            if (k === m.n) {
              pending.shift();
              paths = undefined;
              k = 0;
              Atomics.sub(unread, 0, 1);
              Atomics.notify(unread, 0);
            }
            if (budget > 0) continue;
            budget = SLICE;
            // Files queued since the last turn: let the event loop send what they need (their
            // folders, made ahead) and take answers (the token, the app check) before going on.
            // An unchanged tree queues nothing and is merged in one go.
            if (merge.streamed === streamed) continue;
            streamed = merge.streamed;
            scheduled = true;
            setImmediate(() => {
              // Rows written during the turn are read afresh (Merge.reread).
              merge.reread();
              pump();
            });
            return;
          }
        };
        const take = (m: WalkMessage): void => {
          pending.push(m);
          if (!scheduled) pump();
        };
        takers[i] = take;
        for (const m of queued[i].splice(0)) pending.push(m);
        pump();
        if (dead && pending.length === 0 && takers[i] === take) resolve(null);
      });
    },
    buffered: () => Atomics.load(unread, 0),
    close() {
      closed ??= (async () => {
        giveUp();
        port1.close();
        await worker.terminate();
      })();
      return closed;
    },
  };
}
