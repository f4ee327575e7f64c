import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { compileIgnore, type IgnoreOptions } from './ignore.js';
import { walkMapping, Walker, type FileStat, type WalkError, type WalkResult } from './walk.js';

export interface ScanJob {
  root: string;
  spec: IgnoreOptions;
}

/** The ignore rules of a mapping, as plain data a thread can take. */
export function ignoreSpec(m: { ignore: string[]; ignoreDefaults: boolean }, stateFile: string): IgnoreOptions {
  // The state folder may sit inside a mapping; its database must never be uploaded.
  return { ignore: m.ignore, ignoreDefaults: m.ignoreDefaults, extraAbsolute: [dirname(stateFile)] };
}

/** Subtrees the thread hands out per mapping: enough that the last one to finish is a small share. */
export const SHARE_UNITS = 64;

export type ScanMessage =
  | { i: number; kind: 'files'; n: number; paths: string; sizes: Float64Array; mtimes: Float64Array }
  | { i: number; kind: 'units'; units: string[] }
  | { i: number; kind: 'done'; rootMissing: boolean; files: number; errors: WalkError[]; skipped: WalkResult['skipped'] }
  | { i: number; kind: 'failed'; error: string };

export interface PrefetchedWalks {
  /**
   * The walk of job i. The calling thread walks the subtrees the walk thread
   * has not yet taken (synchronously: only for a caller with nothing else to
   * do, like `once`). Falls back to a walk on this thread if the thread failed.
   */
  take(i: number): Promise<WalkResult>;
  /** Stops the thread if it is still walking (the run ended early). */
  close(): Promise<void>;
}

type Done = Extract<ScanMessage, { kind: 'done' }>;

function deferred<T>(): { promise: Promise<T>; settle: (v: T) => void } {
  let settle!: (v: T) => void;
  return { promise: new Promise<T>((r) => (settle = r)), settle };
}

/**
 * Starts the walks of `once` on a thread of their own as soon as the config is
 * read. The walk is most of a restart over an unchanged tree (one lstat per
 * file) and needs nothing from the state or the server, so the main thread
 * loads its modules, opens the state, gets a token and reads the files table
 * meanwhile, then walks what is left beside the thread.
 *
 * null when the thread's script is not there (the sources run under a test
 * runner): the caller walks as before.
 */
export function prefetchWalks(jobs: ScanJob[], opts: { threadWalksShared?: boolean } = {}): PrefetchedWalks | null {
  const script = new URL('./scanworker.js', import.meta.url);
  if (jobs.length === 0 || !existsSync(fileURLToPath(script))) return null;
  const state = jobs.map(() => ({ units: deferred<string[] | null>(), done: deferred<Done | null>(), entries: new Map<string, FileStat>() }));
  // No job may wait forever: a thread that dies, fails to start or exits early leaves the rest to this thread.
  const giveUp = (): void => state.forEach((s) => (s.units.settle(null), s.done.settle(null)));
  const claims = new Int32Array(new SharedArrayBuffer(4 * jobs.length));
  const { port1, port2 } = new MessageChannel();
  let worker: Worker;
  try {
    // threadWalksShared: false (tests) leaves every shared subtree to the caller.
    worker = new Worker(script, { workerData: { jobs, claims, port: port2, share: opts.threadWalksShared ?? true }, transferList: [port2] });
  } catch {
    return null;
  }
  const handle = (m: ScanMessage): void => {
    const s = state[m.i];
    if (m.kind === 'files') {
      const paths = m.paths.split('\0');
      for (let k = 0; k < m.n; k++) s.entries.set(paths[k], { size: m.sizes[k], mtimeMs: m.mtimes[k] });
    } else if (m.kind === 'units') s.units.settle(m.units);
    else if (m.kind === 'done') s.done.settle(m);
    else giveUp();
  };
  // Both stay referenced: `once` awaits nothing else while the walk runs, and an
  // unreferenced thread would let the process exit mid-walk. The thread ends on its own.
  port1.on('message', handle);
  const drain = (): void => {
    for (let m = receiveMessageOnPort(port1); m; m = receiveMessageOnPort(port1)) handle(m.message as ScanMessage);
  };
  worker.on('error', giveUp);
  // What the thread posted before it ended may still wait in the port: read it before giving up.
  worker.on('exit', () => (drain(), giveUp()));

  return {
    async take(i) {
      const { root, spec } = jobs[i];
      const s = state[i];
      const units = await s.units.promise;
      const ignore = compileIgnore(spec, root);
      if (units === null) return walkMapping(root, ignore);
      const mine: Walker[] = [];
      const sink = (rel: string, size: number, mtimeMs: number): void => void s.entries.set(rel, { size, mtimeMs });
      for (let u = Atomics.add(claims, i, 1); u < units.length; u = Atomics.add(claims, i, 1)) {
        const w = new Walker(root, ignore, sink, undefined, [units[u]]);
        w.step(Infinity);
        mine.push(w);
        // Unpack what the thread sent meanwhile, between subtrees rather than all at the end.
        drain();
      }
      const done = await s.done.promise;
      if (done === null) return walkMapping(root, ignore);
      const files = done.files + mine.reduce((n, w) => n + w.files, 0);
      return {
        entries: s.entries,
        errors: [...done.errors, ...mine.flatMap((w) => w.errors)],
        skipped: [...done.skipped, ...mine.flatMap((w) => w.skipped)],
        rootMissing: done.rootMissing,
        rootEmpty: !done.rootMissing && files === 0,
      };
    },
    async close() {
      giveUp();
      port1.close();
      await worker.terminate();
    },
  };
}
