/**
 * Scenarios 1 and 2 of issue 6: SIGKILL at seeded random moments (SQLite's
 * crashtest1.c pattern), and a kill in the middle of an event burst. Nothing may
 * be lost, nothing uploaded twice as a new asset, the database never corrupt.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { uploadRequests, waitFor, World } from '../support/world.js';
import { FAST_RETRY, FULL, mirror, seeded, sleep, waitMirror } from '../support/reliability.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function fillTree(w: World, files: number, folders: number, tag: string): void {
  for (let i = 0; i < files; i++) w.write(`f${i % folders}/sub${i % 3}/file-${i}.txt`, `${tag} ${i}\n`.repeat(1 + (i % 7)));
}

describe('crash loop', () => {
  const files = FULL ? 3000 : 600;
  const kills = FULL ? 25 : 15;
  it(`survives ${kills} SIGKILLs at seeded random moments while syncing ${files} files`, {
    timeout: FULL ? 600_000 : 120_000,
  }, async () => {
    // A little latency per request keeps the sync running long enough for every kill to land mid-work.
    // (One request per file now, so 20 ms: at 3 ms the 600 files were all up before the fourth kill.)
    world = await World.create({ server: { faults: { latencyMs: 20 } }, sync: { ...FAST_RETRY, concurrency: 4 } });
    const w = world;
    fillTree(w, files, 20, 'v1');
    const rnd = seeded(6001);
    let edits = 0;
    for (let k = 0; k < kills; k++) {
      const d = w.startDaemon();
      // Some kills land during start-up (lock, migration, recovery), at a random moment after spawn.
      // The others land while uploading: after a random number (1 to 40) of further upload requests
      // reached the server, so that on a slow or a fast machine alike they interrupt real work and
      // leave work undone (timed kills landed all in start-up on a loaded machine, or after the
      // last upload on a quiet one).
      if (k % 4 === 0) await sleep(Math.floor(rnd() * 300));
      else {
        const target = uploadRequests(w) + 1 + Math.floor(rnd() * 40);
        await waitFor(
          () => uploadRequests(w) >= target || w.inspect().assets.length >= files + edits,
          30_000,
          () => `kill ${k}: ${uploadRequests(w)} upload requests of ${target}, daemon exit ${d.child.exitCode}; ${d.stdout.slice(-1500)}`,
        );
      }
      d.child.kill('SIGKILL');
      await d.exited;
      // Changes while it is down must be found by the start rescan.
      if (k % 3 === 1) {
        const i = Math.floor(rnd() * files);
        w.write(`f${i % 20}/sub${i % 3}/file-${i}.txt`, `edited after kill ${k}\n`);
        w.write(`new/after-kill-${k}.txt`, `born while down ${k}`);
        edits++;
      }
    }
    expect(edits).toBeGreaterThan(0);
    // The kills must have interrupted real work, not an idle or finished daemon.
    const before = w.inspect().assets.length;
    console.log(`crash loop: ${kills} kills, ${before} of ${files + edits} assets created before the final start`);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(files + edits);
    const d = w.startDaemon();
    // Stopped only once it runs: a SIGTERM before Node installed its handlers is a plain kill.
    await d.waitForLog((l) => l.msg === 'squidex-sync is running', 60_000);
    await waitMirror(w, FULL ? 300_000 : 90_000);
    expect(await d.stop()).toBe(0);
    const r = mirror(w);
    expect(r.files).toBe(files + edits);
  });
});

describe('kill during an event burst', () => {
  const burst = FULL ? 800 : 200;
  it(`loses nothing of ${burst} files added and edited while the daemon runs, when it is killed mid-burst`, {
    timeout: 120_000,
  }, async () => {
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    w.write('seed.txt', 'present at start');
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    for (let i = 0; i < burst; i++) {
      w.write(`burst/b${i % 10}/n-${i}.txt`, `new ${i}`);
      if (i % 4 === 0 && i > 0) w.write(`burst/b${(i - 4) % 10}/n-${i - 4}.txt`, `edited ${i - 4}`);
      // Yield now and then so the watcher sees a stream of events, not one write.
      if (i % 25 === 0) await sleep(10);
    }
    // Inside the stability window: events seen, most not yet queued or uploaded.
    d.child.kill('SIGKILL');
    await d.exited;
    const d2 = w.startDaemon();
    await waitMirror(w, 90_000);
    expect(await d2.stop()).toBe(0);
    expect(mirror(w).files).toBe(burst + 1);
  });
});
