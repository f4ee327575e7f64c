import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, World } from '../support/world.js';

/**
 * `upload.maxBytesPerSecond` through the real daemon (issue 8: "the bandwidth
 * cap holds within 10% over a 20 MB upload"). The rate is measured by the test
 * itself, from the moment the upload request reaches the server to the moment
 * the asset is visible there, so it does not trust the daemon's own clock or logs.
 */

const MIB = 1024 * 1024;
const CAP = 8 * MIB;
/** Under this share of the cap the throttle starves uploads (a loaded machine measured 0.47 once). */
const FLOOR = 0.25;
// A tus upload (files over upload.tusAboveBytes) begins with its creation request.
const UPLOAD_ROUTES = /^(POST \/assets\/\{id\}|POST \/assets|PUT \/assets\/\{id\}\/content|POST \/assets\/tus)$/;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** Requests to the upload routes so far (counted when the request headers arrive, before the body). */
function uploadRequests(w: World): number {
  return Object.entries(w.inspect().counters.byRoute)
    .filter(([route]) => UPLOAD_ROUTES.test(route))
    .reduce((n, [, c]) => n + c, 0);
}

/**
 * Polls every 10 ms (bounded) and returns [first upload request seen, all `names`
 * visible with their full size] in ms. 10 ms of polling error is < 0.5 % of the
 * ~2.5 s a 20 MiB upload takes at 8 MiB/s.
 */
async function timeUploads(
  w: World,
  names: Map<string, number>,
  timeoutMs = 60_000,
): Promise<{ started: number; done: number; overlapped: boolean }> {
  const before = uploadRequests(w);
  const deadline = Date.now() + timeoutMs;
  let started: number | undefined;
  // Whether every upload had begun before the first one finished (they shared the cap).
  let overlapped: boolean | undefined;
  for (;;) {
    const now = Date.now();
    const begun = uploadRequests(w) - before;
    if (started === undefined && begun > 0) started = now;
    const live = liveAssetsByPath(w.inspect());
    const sized = [...names].filter(([n, size]) => live.get(`Design/Shared/${n}`)?.fileSize === size).length;
    if (overlapped === undefined && sized > 0) overlapped = begun >= names.size;
    if (started !== undefined && sized === names.size) return { started, done: now, overlapped: overlapped ?? false };
    if (now > deadline) throw new Error(`uploads not done in ${timeoutMs} ms (started: ${started !== undefined})`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function capped(files: Map<string, number>): Promise<{ rate: number; overlapped: boolean }> {
  world = await World.create({
    server: { maxUploadBytes: 64 * MIB, keepBytes: false },
    extra: { upload: { maxBytesPerSecond: '8MiB' } },
  });
  const w = world;
  const d = w.startDaemon();
  await d.waitForLog((l) => l.msg === 'squidex-sync is running');
  // The first request of the session (token, folder) is not part of the measure.
  w.write('warm-up.txt', 'x');
  await timeUploads(w, new Map([['warm-up.txt', 1]]));

  const timing = timeUploads(w, files);
  for (const [name, size] of files) w.write(name, Buffer.alloc(size, name.length));
  const { started, done, overlapped } = await timing;
  expect(await d.stop()).toBe(0);
  const bytes = [...files.values()].reduce((a, b) => a + b, 0);
  return { rate: bytes / ((done - started) / 1000), overlapped };
}

describe('upload.maxBytesPerSecond through the daemon', () => {
  it('a 20 MiB upload runs within 10% of an 8 MiB/s cap', async () => {
    const { rate } = await capped(new Map([['big.tif', 20 * MIB]]));
    // The cap holds: never more than 10 % above it. Below it only means a busy
    // machine (a whole daemon and the server share two cores with other tests);
    // far below (under a quarter) would be a throttle that starves uploads. The
    // bucket's own pace is held to half the cap in test/service/throttle.test.ts.
    expect(rate / CAP, `measured ${(rate / MIB).toFixed(2)} MiB/s`).toBeLessThanOrEqual(1.1);
    expect(rate / CAP, `measured ${(rate / MIB).toFixed(2)} MiB/s`).toBeGreaterThanOrEqual(FLOOR);
  });

  it('the cap holds for all workers together: two 10 MiB uploads at once share 8 MiB/s', async () => {
    const { rate, overlapped } = await capped(
      new Map([
        ['left.tif', 10 * MIB],
        ['right.psd', 10 * MIB],
      ]),
    );
    expect(overlapped).toBe(true);
    expect(rate / CAP, `measured ${(rate / MIB).toFixed(2)} MiB/s`).toBeLessThanOrEqual(1.1);
    expect(rate / CAP, `measured ${(rate / MIB).toFixed(2)} MiB/s`).toBeGreaterThanOrEqual(FLOOR);
  });
});
