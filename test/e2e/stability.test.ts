import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, waitFor, World, type Daemon } from '../support/world.js';

// Every way a file reaches the queue waits until it is quiet for sync.stabilityMs:
// watcher events, the files of a folder that appeared, and the rescans at start and
// on the timer. A copy in progress is never uploaded half-written.

const MiB = 1024 * 1024;
// Writes every 500 ms against a 3 s window: even a writer stalled for several times
// its interval on a busy machine leaves the file never quiet for a whole window.
const STABILITY_MS = 3000;
const CHUNKS = 16;
const EVERY_MS = 500;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes 1 MiB every EVERY_MS, CHUNKS times (16 MiB over 8 s); resolves with the sha256 of the whole file. */
async function grow(abs: string, onStarted?: () => Promise<void> | void): Promise<string> {
  mkdirSync(dirname(abs), { recursive: true });
  const hash = createHash('sha256');
  const fd = openSync(abs, 'w');
  try {
    for (let i = 0; i < CHUNKS; i++) {
      const chunk = Buffer.alloc(MiB, i + 1);
      writeSync(fd, chunk);
      hash.update(chunk);
      if (i === 0) await onStarted?.();
      await sleep(EVERY_MS);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The file is on the server complete, and it took exactly one upload to get there. */
async function expectOneCompleteUpload(w: World, d: Daemon, remote: string, sha: string): Promise<void> {
  await waitFor(
    () => liveAssetsByPath(w.inspect()).get(remote)?.sha256 === sha,
    30_000,
    () => d.stdout.slice(-3000),
  );
  // Give a late (wrong) second upload the time to happen before counting.
  await sleep(STABILITY_MS + 1500);
  const asset = liveAssetsByPath(w.inspect()).get(remote)!;
  expect(asset.fileSize).toBe(CHUNKS * MiB);
  expect(asset.fileVersion).toBe(0);
  expect(w.inspect().counters.uploads).toBe(1);
}

describe('the stability gate, for every way a file gets queued', () => {
  it('a file growing for 8 s in a folder created after start is uploaded once, complete', async () => {
    world = await World.create({ sync: { stabilityMs: STABILITY_MS }, server: { maxUploadBytes: 32 * MiB } });
    const w = world;
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const sha = await grow(join(w.local, 'incoming/batch/video.mp4'));
    await expectOneCompleteUpload(w, d, 'Design/Shared/incoming/batch/video.mp4', sha);
    expect(await d.stop()).toBe(0);
  });

  it('a file growing while the timer rescans run is uploaded once, complete', async () => {
    world = await World.create({
      sync: { stabilityMs: STABILITY_MS },
      mapping: { watch: 'events', rescanInterval: '1s' },
      server: { maxUploadBytes: 32 * MiB },
    });
    const w = world;
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const sha = await grow(join(w.local, 'video.mp4'));
    await expectOneCompleteUpload(w, d, 'Design/Shared/video.mp4', sha);
    expect(await d.stop()).toBe(0);
  });

  it('a file still growing when the daemon starts is uploaded once, complete', async () => {
    world = await World.create({ sync: { stabilityMs: STABILITY_MS }, server: { maxUploadBytes: 32 * MiB } });
    const w = world;
    let d: Daemon | undefined;
    // The daemon starts (and its start rescan runs) while the file is being written.
    const sha = await grow(join(w.local, 'video.mp4'), () => {
      d = w.startDaemon();
    });
    await expectOneCompleteUpload(w, d!, 'Design/Shared/video.mp4', sha);
    expect(await d!.stop()).toBe(0);
  });
});
