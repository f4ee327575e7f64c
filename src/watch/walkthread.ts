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
  const script = new URL('./walkworker.js', import.meta.url);
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
        const take = (m: WalkMessage): void => {
          if (m.kind === 'files') {
            const paths = m.paths.split('\0');
            for (let k = 0; k < m.n; k++) merge.file(paths[k], m.sizes[k], m.mtimes[k]);
            Atomics.sub(unread, 0, 1);
            Atomics.notify(unread, 0);
            return;
          }
          // Not a closure of this scope: it would keep the merge, and the diff it resolved, for the rest of the run.
          takers[i] = spent;
          resolve(m.kind === 'done' ? merge.result(m.outcome, m.peakHeld) : null);
        };
        takers[i] = take;
        for (const m of queued[i].splice(0)) takers[i]!(m);
        if (dead && takers[i] === take) resolve(null);
      });
    },
    buffered: () => Atomics.load(unread, 0),
    async close() {
      giveUp();
      port1.close();
      await worker.terminate();
    },
  };
}
