import { afterEach, describe, expect, it } from 'vitest';
import { ClaimAhead } from '../../src/worker/ahead.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

function setup(n: number) {
  const { clock, state } = t.fresh();
  state.jobs.enqueueMany(Array.from({ length: n }, (_, i) => ({ mapping: 'm', path: `f${i}`, delayMs: 0 })));
  return { clock, state, ahead: new ClaimAhead({ jobs: state.jobs, clock }, { token: 'w', concurrency: 4, maxAhead: 256 }) };
}

describe('claiming ahead of the worker slots', () => {
  it('claims far ahead only at a high finish rate, and never more than the cap', () => {
    const { clock, ahead } = setup(10);
    expect(ahead.depth(clock.now())).toBe(8); // 4 slots + 4: no rate yet
    clock.advance(200);
    expect(ahead.depth(clock.now())).toBe(8);
    for (let i = 0; i < 1000; i++) ahead.finished(); // 5,000 jobs/s
    clock.advance(200);
    expect(ahead.depth(clock.now())).toBe(4 + 256);
    for (let i = 0; i < 40; i++) ahead.finished(); // 200 jobs/s: a quarter second is 50
    clock.advance(200);
    expect(ahead.depth(clock.now())).toBe(4 + 50);
  });

  it('measures its first rate over 50 ms, then over 200 ms windows', () => {
    const { clock, ahead } = setup(10);
    ahead.depth(clock.now()); // the window starts
    for (let i = 0; i < 40; i++) ahead.finished(); // 800 jobs/s over the first 50 ms
    clock.advance(50);
    expect(ahead.depth(clock.now())).toBe(4 + 200);
    for (let i = 0; i < 10; i++) ahead.finished(); // 200 jobs/s, were it measured over 50 ms
    clock.advance(50); // a rate is known: the next window is 200 ms
    expect(ahead.depth(clock.now())).toBe(4 + 200);
  });

  it('looks at the queue for a quarter of its depth at once, or for anything when nothing waits', () => {
    const { ahead } = setup(0);
    // 8 slots + 8 ahead: one finished job frees one place, not worth a commit while 7 wait.
    expect(ahead.worthClaiming(1, 16, 7)).toBe(false);
    expect(ahead.worthClaiming(3, 16, 5)).toBe(false);
    expect(ahead.worthClaiming(4, 16, 4)).toBe(true);
    expect(ahead.worthClaiming(1, 16, 0)).toBe(true); // the workers would run dry
    expect(ahead.worthClaiming(0, 16, 0)).toBe(false); // full
  });

  it('after a crash, claims only as many as there are slots while crashed jobs come up', () => {
    const { state, ahead, clock } = setup(100);
    expect(ahead.claim(100, [])).toHaveLength(100);
    state.jobs.recover(); // the process died with all 100 claimed: each spent an attempt
    const again = ahead.claim(100, []);
    expect(again).toHaveLength(4);
    expect(again.every((j) => j.attempts === 2)).toBe(true);
    // And no second slot-sized batch on the pool's next look: the depth is the slots alone.
    expect(ahead.depth(clock.now())).toBe(4);
    // Jobs never claimed before are claimed ahead again.
    state.jobs.enqueueMany(Array.from({ length: 10 }, (_, i) => ({ mapping: 'n', path: `g${i}`, delayMs: 0 })));
    expect(ahead.claim(100, ['m'])).toHaveLength(10);
    expect(ahead.depth(clock.now())).toBe(8);
  });
});

describe('the rows read with a claim', () => {
  it('come with each claimed job, stamped with the repo’s count of moves; any move, removal or missing mark since changes it', () => {
    const { clock, state } = t.fresh();
    state.files.recordSynced({
      mapping: 'm',
      path: 'f0',
      size: 1,
      mtimeMs: 1,
      sha256: 'a'.repeat(64),
      assetId: 'id0',
      parentId: null,
      version: 1,
      syncedAt: 1,
      missingSince: null,
    });
    state.jobs.enqueueMany(['f0', 'f1'].map((path) => ({ mapping: 'm', path, delayMs: 0 })));
    const ahead = new ClaimAhead({ jobs: state.jobs, files: state.files, clock }, { token: 'w', concurrency: 4, maxAhead: 256 });
    const jobs = new Map(ahead.claim(2, []).map((j) => [j.path, j]));
    expect(jobs.get('f0')!.row).toMatchObject({ assetId: 'id0', sha256: 'a'.repeat(64) });
    expect(jobs.get('f1')!.row).toBeNull();
    const at = jobs.get('f0')!.rowAt;
    expect(at).toBe(state.files.moves);
    state.files.markMissing('m', 'f0', 5); // a rescan saw it gone: the job must read the row again
    expect(state.files.moves).not.toBe(at);
    const before = state.files.moves;
    state.files.rename('m', 'f0', 'f1');
    expect(state.files.moves).not.toBe(before);
  });
});
