import { afterEach, describe, expect, it } from 'vitest';
import { bigFile, MiB } from '../support/bigfiles.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

// Big files through Squidex's tus endpoint, against the real CLI and the test
// server with Squidex's default per-request limit (5 MiB).

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function tusRequests(w: World): { creations: number; patches: number; multipart: number } {
  const c = w.inspect().counters.byRoute;
  return {
    creations: c['POST /assets/tus'] ?? 0,
    patches: c['PATCH /assets/tus/{fileId}'] ?? 0,
    multipart: (c['POST /assets/{id}'] ?? 0) + (c['PUT /assets/{id}/content'] ?? 0),
  };
}

describe('big files through tus', () => {
  it('5 MiB, 17 MiB and 200 MiB mirror against a 5 MiB limit: exit 0, bytes equal, one asset each; a second once uploads nothing', async () => {
    world = await World.create({ server: { maxUploadBytes: 5 * MiB } });
    const w = world;
    const want = new Map([
      ['exact.psd', bigFile(w, 'exact.psd', 5 * MiB, 1)],
      ['Print/poster.tif', bigFile(w, 'Print/poster.tif', 17 * MiB, 2)],
      ['Video/launch.mov', bigFile(w, 'Video/launch.mov', 200 * MiB, 3)],
    ]);
    w.write('small.txt', 'a small file goes as one request');
    const r = await w.run(['once'], 120_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const assets = liveAssetsByPath(w.inspect());
    expect(assets.size).toBe(4);
    for (const [rel, hash] of want) {
      const a = assets.get(`Design/Shared/${rel}`)!;
      expect(a.sha256, rel).toBe(hash);
      expect(a.metadata, rel).toMatchObject({ squidexSyncSha256: hash });
    }
    expect(Object.values(w.inspect().createdIds).every((n) => n === 1)).toBe(true);
    const t = tusRequests(w);
    expect(t.creations).toBe(3);
    expect(t.multipart).toBe(1);
    // Nothing but whole files went through tus: 222 MiB in 4 MiB pieces.
    expect(w.inspect().counters.tusBytes).toBe(222 * MiB);
    expect(w.inspect().tus).toEqual([]);

    w.server.resetCounters();
    const again = await w.run(['once']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(tusRequests(w)).toEqual({ creations: 0, patches: 0, multipart: 0 });
  }, 180_000);

  it('replacing a big file keeps its asset id: tus with the existing id is an upsert', async () => {
    world = await World.create({ server: { maxUploadBytes: 5 * MiB } });
    const w = world;
    bigFile(w, 'Print/poster.tif', 17 * MiB, 1);
    expect((await w.run(['once'])).code).toBe(0);
    const before = liveAssetsByPath(w.inspect()).get('Design/Shared/Print/poster.tif')!;
    const hash = bigFile(w, 'Print/poster.tif', 12 * MiB, 9);
    const r = await w.run(['once']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const after = liveAssetsByPath(w.inspect()).get('Design/Shared/Print/poster.tif')!;
    expect(after.id).toBe(before.id);
    expect(after.sha256).toBe(hash);
    expect(after.fileVersion).toBe(before.fileVersion + 1);
    expect(after.parentId).toBe(before.parentId);
    expect(tusRequests(w).creations).toBe(2);
  }, 120_000);

  it('a file that changes between its chunks ends with its new content, in one asset', async () => {
    world = await World.create({ server: { maxUploadBytes: 5 * MiB }, extra: { upload: { chunkBytes: '1MiB' } } });
    const w = world;
    bigFile(w, 'video.bin', 8 * MiB, 1);
    w.server.setFaults({ latencyMs: 300 });
    const running = w.run(['once'], 90_000);
    await waitFor(() => (w.inspect().counters.byRoute['PATCH /assets/tus/{fileId}'] ?? 0) >= 1, 30_000);
    const hash = bigFile(w, 'video.bin', 8 * MiB, 2);
    const r = await running;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    w.server.setFaults({ latencyMs: 0 });
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/video.bin')!;
    expect(asset.sha256).toBe(hash);
    expect(asset.metadata).toMatchObject({ squidexSyncSha256: hash });
    expect(w.inspect().assets).toHaveLength(1);
    expect(tusRequests(w).creations).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a multipart upload refused with 413 goes through tus at once', async () => {
    world = await World.create({ server: { maxUploadBytes: 5 * MiB }, extra: { upload: { tusAboveBytes: '64MiB' } } });
    const w = world;
    const hash = bigFile(w, 'big.bin', 9 * MiB, 4);
    const r = await w.run(['once']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/big.bin')?.sha256).toBe(hash);
    const t = tusRequests(w);
    expect(t.multipart).toBe(1);
    expect(t.creations).toBe(1);
  }, 60_000);

  it('an old server without tus: multipart for every file, said once; a file over its limit fails naming the missing tus', async () => {
    world = await World.create({ server: { maxUploadBytes: 32 * MiB, tus: false } });
    const w = world;
    const hashes = [bigFile(w, 'a.bin', 6 * MiB, 1), bigFile(w, 'b.bin', 7 * MiB, 2), bigFile(w, 'c.bin', 9 * MiB, 3)];
    bigFile(w, 'huge.bin', 40 * MiB, 4);
    const r = await w.run(['once'], 90_000);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const assets = liveAssetsByPath(w.inspect());
    expect([...['a', 'b', 'c']].map((n) => assets.get(`Design/Shared/${n}.bin`)?.sha256)).toEqual(hashes);
    expect(assets.has('Design/Shared/huge.bin')).toBe(false);
    const said = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('has no tus endpoint (an older Squidex'));
    expect(said).toHaveLength(1);
    expect(r.stdout).toMatch(/huge\.bin[\s\S]*no tus endpoint to take the file in pieces/);
  }, 120_000);

  it('a proxy that refuses 4 MiB bodies: the chunk is halved until it fits, and the size is remembered', async () => {
    world = await World.create({ server: { maxUploadBytes: 5 * MiB, proxyMaxBodyBytes: MiB } });
    const w = world;
    const hash = bigFile(w, 'one.bin', 6 * MiB, 1);
    const r = await w.run(['once']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/one.bin')?.sha256).toBe(hash);
    expect(w.inspect().counters.byRoute['413 (proxy)']).toBe(2); // 4 MiB, then 2 MiB
    w.server.resetCounters();
    const hash2 = bigFile(w, 'two.bin', 6 * MiB, 2);
    expect((await w.run(['once'])).code).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/two.bin')?.sha256).toBe(hash2);
    expect(w.inspect().counters.byRoute['413 (proxy)']).toBeUndefined();
    expect(w.inspect().counters.byRoute['PATCH /assets/tus/{fileId}']).toBe(6);
  }, 60_000);
});
