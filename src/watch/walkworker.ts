// Thread side of walkthread.ts. Walks each mapping in the rescan's order
// (Walker, ordered) and posts its files in packed chunks, in that order:
// paths joined by NUL (no path can contain it), sizes and mtimes as
// transferred Float64Arrays. At most MAX_CHUNKS wait unread: a main thread
// still loading its modules or reading rows holds the walk back, so memory
// stays bounded whatever the share's size.
import { type MessagePort, workerData } from 'node:worker_threads';
import { compileIgnore } from './ignore.js';
import { Walker } from './walk.js';
import { CHUNK, MAX_CHUNKS, type WalkJob, type WalkMessage } from './walkthread.js';

const { jobs, unread, port } = workerData as { jobs: WalkJob[]; unread: Int32Array; port: MessagePort };
const post = (m: WalkMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

for (let i = 0; i < jobs.length; i++) {
  const { root, spec } = jobs[i];
  let paths: string[] = [];
  let sizes = new Float64Array(CHUNK);
  let mtimes = new Float64Array(CHUNK);
  const flush = (): void => {
    for (let n = Atomics.load(unread, 0); n >= MAX_CHUNKS; n = Atomics.load(unread, 0)) Atomics.wait(unread, 0, n, 1000);
    Atomics.add(unread, 0, 1);
    post({ i, kind: 'files', n: paths.length, paths: paths.join('\0'), sizes, mtimes }, [sizes.buffer, mtimes.buffer]);
    paths = [];
    sizes = new Float64Array(CHUNK);
    mtimes = new Float64Array(CHUNK);
  };
  const sink = (rel: string, size: number, mtimeMs: number): void => {
    sizes[paths.length] = size;
    mtimes[paths.length] = mtimeMs;
    if (paths.push(rel) === CHUNK) flush();
  };
  try {
    const walker = new Walker(root, compileIgnore(spec, root), sink, { ordered: true });
    walker.step(Number.POSITIVE_INFINITY);
    if (paths.length > 0) flush();
    const { entries: _none, ...outcome } = walker.finish(null);
    post({ i, kind: 'done', outcome, peakHeld: walker.peakHeld });
  } catch (e) {
    post({ i, kind: 'failed', error: (e as Error).message });
  }
}
port.close();
