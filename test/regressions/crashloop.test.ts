import { afterEach, expect, it } from 'vitest';
import { ClaimAhead } from '../../src/worker/ahead.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

it('a job that kills the process takes at most concurrency-1 others to the crash-loop guard', () => {
  const c = 4;
  const { state, clock } = t.fresh();
  state.jobs.enqueueMany(Array.from({ length: 100 }, (_, i) => ({ mapping: 'm', path: `f${String(i).padStart(3, '0')}`, delayMs: 0 })));
  for (let crash = 0; crash < 12; crash++) {
    const ahead = new ClaimAhead({ jobs: state.jobs, clock }, { token: `w${crash}`, concurrency: c, maxAhead: 256 });
    // What WorkerPool.#run does after a start: free = depth - pending - size, claim, `continue`, again.
    const first = ahead.claim(ahead.depth(clock.now()), []);
    const more = ahead.claim(ahead.depth(clock.now()) - first.length, []);
    void more;
    // f000 (the first slot) kills the process every time it runs.
    state.jobs.recover();
  }
  const failed = state.jobs.failed(1000).map((f) => f.path);
  expect(failed.length).toBeLessThanOrEqual(c);
});
