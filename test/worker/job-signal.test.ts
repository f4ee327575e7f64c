import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { ClaimAhead } from '../../src/worker/ahead.js';
import { immediate } from '../../src/worker/context.js';
import { reconcile } from '../../src/worker/reconcile.js';
import { uploadRequests, World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A job's signal that records the stack of each listener added to it. */
function countingSignal(): { signal: AbortSignal; stacks: string[] } {
  const signal = new AbortController().signal;
  const stacks: string[] = [];
  const add = signal.addEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
    stacks.push(new Error('listener').stack ?? '');
    add(...args);
  }) as AbortSignal['addEventListener'];
  return { signal, stacks };
}

describe('a job whose asset folder is known', () => {
  it('uploads without waiting on the folder: no listener on the job’s signal for it, one for all its waits', async () => {
    world = await World.create();
    const w = world;
    w.write('f/a.txt', 'first file');
    w.write('f/b.txt', 'second file');
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const rt = openRuntime(config, { logger: silentLogger });
    try {
      const { state, clock } = rt;
      state.jobs.enqueueMany([
        { mapping: 'share', path: 'f/a.txt', reason: 'add', delayMs: 0 },
        { mapping: 'share', path: 'f/b.txt', reason: 'add', delayMs: 0 },
      ]);
      const ahead = new ClaimAhead({ jobs: state.jobs, files: state.files, clock }, { token: 'w', concurrency: 1, maxAhead: 2 });
      const [a, b] = ahead.claim(2, []);
      // The first file's job makes the folder; the second finds it known.
      expect((await reconcile(a!, immediate(rt.ctx), new AbortController().signal)).action).toBe('upload');
      const counted = countingSignal();
      expect((await reconcile(b!, immediate(rt.ctx), counted.signal)).action).toBe('upload');
      expect(uploadRequests(w)).toBe(2);
      // Other steps may listen too (the adoption lookup's shared listing); the folder step must not.
      expect(counted.stacks.filter((s) => s.includes('#folder'))).toEqual([]);
      // The request's deadline and the adoption lookup listen through lib/abort.ts: one listener for the signal.
      expect(counted.stacks).toHaveLength(1);
      expect(counted.stacks[0]).toContain('whenAborted');
    } finally {
      await rt.close();
    }
  });
});
