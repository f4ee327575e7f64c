import { afterEach, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClaimAhead } from '../../src/worker/ahead.js';
import { tempStates } from '../support/state.js';
import { rig, type Rig } from '../support/regressions.js';
import { waitFor } from '../support/world.js';

const t = tempStates();
let r: Rig | undefined;
afterEach(async () => {
  t.cleanup();
  await r?.cleanup();
  r = undefined;
});

/** One job of mapping "video" claimed ahead; `pause()` is `squidex-sync pause video`. */
function claimedVideo() {
  const { state, clock } = t.fresh();
  let paused: string[] = [];
  const ahead = new ClaimAhead({ jobs: state.jobs, clock }, { token: 'w', concurrency: 4, maxAhead: 256, pausedMappings: () => paused });
  state.jobs.enqueueMany([{ mapping: 'video', path: 'big.mov', delayMs: 0 }]);
  const [job] = ahead.claim(8, []);
  return { state, clock, ahead, job, pause: () => (paused = ['video']), paused: () => paused };
}

it('a job of a mapping paused after its claim is handed back even while other mappings keep claiming', () => {
  const { state, clock, ahead, job, pause, paused } = claimedVideo();
  clock.advance(10_000);
  pause();
  state.jobs.enqueueMany([{ mapping: 'docs', path: 'x.txt', delayMs: 0 }]);
  ahead.claim(8, paused()); // the pool keeps claiming for the other mapping
  clock.advance(300);
  expect(ahead.pausedSinceClaim(job)).toBe(true);
});

it('a pause is seen within 200 ms even after the wall clock stepped back', () => {
  const { clock, ahead, job, pause } = claimedVideo();
  expect(ahead.pausedSinceClaim(job)).toBe(false); // read now, cached for 200 ms
  clock.advance(-3_600_000); // NTP steps the clock back an hour
  pause();
  clock.advance(300);
  expect(ahead.pausedSinceClaim(job)).toBe(true);
});

it('one 429 without Retry-After during a fast first sync does not pause everything for the 15-minute maximum', async () => {
  const files = 400;
  r = await rig({
    sync: { backoffBaseMs: 2000, backoffMaxMs: 600000, concurrency: 8 },
    setup: (l) => {
      for (let i = 0; i < files; i++) writeFileSync(join(l, `f${i}.txt`), `content ${i}`);
    },
  });
  const rg = r;
  const client = rg.rt.client as unknown as { upsertAsset: (...a: unknown[]) => Promise<unknown> };
  const real = client.upsertAsset.bind(client);
  let n = 0;
  client.upsertAsset = async (...a: unknown[]) => {
    if (++n === 150) rg.server.setFaults({ rate429: 1, retryAfterSec: null });
    return real(...a);
  };
  await rg.rt.rescan(rg.rt.config.mappings[0]);
  rg.rt.pool.start();
  await waitFor(() => rg.server.inspect().counters.faults > 0, 30_000);
  await new Promise((res) => setTimeout(res, 1500));
  const faults = rg.server.inspect().counters.faults;
  const pauseMs = rg.rt.state.jobs.pausedUntil() - Date.now();
  rg.server.setFaults({ rate429: 0 });
  await rg.rt.pool.stop(500);
  // At most what was on the wire when the 429 came: the 8 uploads in flight and one bulk of stamps
  // (the jobs waiting to send meet the pause unsent: src/squidex/gate.ts).
  expect(faults).toBeLessThanOrEqual(9);
  expect(pauseMs).toBeLessThan(5 * 60_000);
});
