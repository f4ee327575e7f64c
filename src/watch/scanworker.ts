// Thread side of scan.ts. Walks the top of each mapping until there are
// subtrees to share, posts them, then walks the subtrees it claims (the main
// thread claims the others once it is free). Files go out in packed chunks:
// paths joined by NUL (no path can contain it), sizes and mtimes as
// transferred Float64Arrays, so 100k files cost a few dozen messages instead
// of 100k cloned objects, and the main thread unpacks them as they come.
import { type MessagePort, workerData } from 'node:worker_threads';
import { compileIgnore } from './ignore.js';
import { SHARE_UNITS, type ScanJob, type ScanMessage } from './scan.js';
import { Walker } from './walk.js';

const CHUNK = 4096;
const { jobs, claims, port, share } = workerData as { jobs: ScanJob[]; claims: Int32Array; port: MessagePort; share: boolean };
const post = (m: ScanMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

for (let i = 0; i < jobs.length; i++) {
  const { root, spec } = jobs[i];
  let paths: string[] = [];
  let sizes = new Float64Array(CHUNK);
  let mtimes = new Float64Array(CHUNK);
  const flush = (): void => {
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
    const ignore = compileIgnore(spec, root);
    const top = new Walker(root, ignore, sink);
    const units = top.expand(SHARE_UNITS);
    post({ i, kind: 'units', units });
    const walkers = [top];
    for (let u = share ? Atomics.add(claims, i, 1) : units.length; u < units.length; u = Atomics.add(claims, i, 1)) {
      const w = new Walker(root, ignore, sink, undefined, [units[u]]);
      w.step(Infinity);
      walkers.push(w);
    }
    if (paths.length > 0) flush();
    post({
      i, kind: 'done', rootMissing: top.rootMissing,
      files: walkers.reduce((n, w) => n + w.files, 0),
      errors: walkers.flatMap((w) => w.errors),
      skipped: walkers.flatMap((w) => w.skipped),
    });
  } catch (e) {
    post({ i, kind: 'failed', error: (e as Error).message });
  }
}
port.close();
