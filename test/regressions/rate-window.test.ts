import { afterEach, expect, it } from 'vitest';
import { ClaimAhead } from '../../src/worker/ahead.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

// Found in review of ae3d817: "until a rate is known it is measured over 50 ms windows". The code
// tests `#rate > 0`, and the rate is 0 again after any 200 ms window in which no job
// ended (every long upload), so mid-sync the rate is measured over 50 ms windows too:
// eight equal uploads that end together read as 4x their real rate.
it('a rate once known is not measured over 50 ms windows again after a quiet window', () => {
  const { state, clock } = t.fresh();
  const ahead = new ClaimAhead({ jobs: state.jobs, clock }, { token: 'w', concurrency: 8, maxAhead: 256 });
  ahead.depth(clock.now());
  clock.advance(50);
  for (let i = 0; i < 2; i++) ahead.finished();
  expect(ahead.depth(clock.now())).toBe(8 + 10); // 40 jobs/s: the rate is known
  clock.advance(200);
  expect(ahead.depth(clock.now())).toBe(8 + 8); // 200 ms of long uploads, none ended: rate 0
  for (let i = 0; i < 8; i++) ahead.finished(); // eight equal videos end together
  clock.advance(50);
  // Measured over 200 ms this is 40 jobs/s (8 + 10); over 50 ms it reads 160/s: 40 big files claimed ahead.
  expect(ahead.depth(clock.now())).toBeLessThanOrEqual(8 + 10);
});
