import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bigFile, MiB } from '../support/bigfiles.js';
import { endpoint, freePort } from '../support/service.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

// Resuming big uploads across a kill -9, a stop, a changed file, an expired
// upload and a lost final answer, with the real daemon as a child process.
const SIZE = 48 * MiB;
const CHUNK = MiB;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** 1 MiB pieces at 16 MiB/s: a 48 MiB file takes ~3 s, long enough to be caught half-way. */
async function slowWorld(extra: Record<string, unknown> = {}, server: Record<string, unknown> = {}): Promise<World> {
  return World.create({
    server: { maxUploadBytes: 5 * MiB, ...server },
    extra: { upload: { chunkBytes: '1MiB', maxBytesPerSecond: '16MiB' }, ...extra },
  });
}

/** Waits until the server holds at least `bytes` of the one upload in progress. */
async function serverHolds(w: World, bytes: number): Promise<number> {
  return waitFor(
    () => {
      const u = w.inspect().tus[0];
      return u && u.offset >= bytes ? u.offset : undefined;
    },
    30_000,
    () => `server holds ${JSON.stringify(w.inspect().tus)}`,
  );
}

describe('resumable uploads', () => {
  it('kill -9 half-way, then a restart: status shows the progress, the rest is sent, at most one chunk again; /metrics counts it', async () => {
    const port = await freePort();
    world = await slowWorld({ http: { port } });
    const w = world;
    const hash = bigFile(w, 'Video/launch.mov', SIZE, 5);
    const first = w.startDaemon();
    await serverHolds(w, SIZE / 2);
    first.child.kill('SIGKILL');
    await first.exited;
    const held = w.inspect().tus[0].offset;
    expect(held).toBeLessThan(SIZE);

    const status = await w.run(['status']);
    expect(status.stdout).toMatch(/share: Video\/launch\.mov: \d+\.\d MiB of 48\.0 MiB, resumable/);

    const second = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/Video/launch.mov'),
      30_000,
      () => second.stdout.slice(-3000),
    );
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/Video/launch.mov')!;
    expect(asset.sha256).toBe(hash);
    // Bytes sent in all: the file, plus at most the chunk cut off by the kill (the server keeps what arrived of it).
    const total = w.inspect().counters.tusBytes;
    expect(total).toBeGreaterThanOrEqual(SIZE);
    expect(total).toBeLessThanOrEqual(SIZE + 2 * CHUNK);
    expect(w.inspect().counters.byRoute['POST /assets/tus']).toBe(1);
    expect(second.lines.some((l) => String(l.msg).startsWith('resuming Video/launch.mov at'))).toBe(true);

    const m = await endpoint(port).metrics();
    expect(m.value('squidex_sync_tus_resumed_bytes_total')).toBeGreaterThanOrEqual(held);
    expect(m.value('squidex_sync_tus_sent_bytes_total')).toBeLessThanOrEqual(SIZE - held + 2 * CHUNK);
    expect(m.value('squidex_sync_tus_sent_again_bytes_total')).toBeDefined();
    // The stamp (and so the recorded hash) is of the whole file, its prefix hashed again from disk.
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/Video/launch.mov')?.metadata.squidexSyncSha256 === hash, 20_000);
    expect(await second.stop()).toBe(0);
    const after = await w.run(['status']);
    expect(after.stdout).not.toContain('resumable');
  }, 90_000);

  it('a stop between chunks keeps the upload; the next run sends only the rest', async () => {
    world = await slowWorld();
    const w = world;
    const hash = bigFile(w, 'big.bin', SIZE, 6);
    const d = w.startDaemon();
    await serverHolds(w, 8 * MiB);
    expect(await d.stop('SIGTERM')).toBe(0);
    expect(w.inspect().tus).toHaveLength(1);
    const status = await w.run(['status']);
    expect(status.stdout).toContain('resumable');
    expect(status.stdout).not.toContain('failed (run');

    const r = await w.run(['once']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/big.bin')?.sha256).toBe(hash);
    // The chunk in flight at the stop was finished, not cut off: not one byte twice.
    expect(w.inspect().counters.tusBytes).toBe(SIZE);
  }, 90_000);

  it('a file changed since its upload started: the upload is dropped (DELETE) and started over', async () => {
    world = await slowWorld();
    const w = world;
    bigFile(w, 'big.bin', SIZE, 7);
    const d = w.startDaemon();
    await serverHolds(w, 8 * MiB);
    expect(await d.stop('SIGTERM')).toBe(0);
    appendFileSync(join(w.local, 'big.bin'), Buffer.from('one more line'));
    const r = await w.run(['once']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/big.bin')!;
    expect(asset.fileSize).toBe(SIZE + 13);
    expect(asset.sha256).toBe(createHash('sha256').update(w.read('big.bin')).digest('hex'));
    const c = w.inspect().counters.byRoute;
    expect(c['DELETE /assets/tus/{fileId}']).toBe(1);
    expect(c['POST /assets/tus']).toBe(2);
    expect(w.inspect().tus).toEqual([]);
  }, 90_000);

  it('an upload that expired on the server is started over', async () => {
    world = await slowWorld();
    const w = world;
    const hash = bigFile(w, 'big.bin', SIZE, 8);
    const d = w.startDaemon();
    await serverHolds(w, 8 * MiB);
    expect(await d.stop('SIGTERM')).toBe(0);
    w.server.setTus({ expireAll: true });
    const r = await w.run(['once']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/big.bin')?.sha256).toBe(hash);
    expect(w.inspect().counters.byRoute['POST /assets/tus']).toBe(2);
    expect(w.inspect().counters.byRoute['HEAD /assets/tus/{fileId}']).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it.each([
    ['lost', { loseFinalAnswers: 1 }],
    ['answered 500 after the chunks were assembled', { failFinalAnswers: 1 }],
  ])(
    'the final answer %s: the asset is found by its id and nothing is sent again',
    async (_name, tus) => {
      world = await World.create({ server: { maxUploadBytes: 5 * MiB, tus } });
      const w = world;
      const hash = bigFile(w, 'big.bin', 17 * MiB, 9);
      const r = await w.run(['once']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const ins = w.inspect();
      expect(liveAssetsByPath(ins).get('Design/Shared/big.bin')?.sha256).toBe(hash);
      expect(ins.counters.tusBytes).toBe(17 * MiB);
      expect(ins.counters.byRoute['POST /assets/tus']).toBe(1);
      expect(Object.values(ins.createdIds)).toEqual([1]);
      expect(r.stdout + r.stderr).toContain('is on the server already');
      w.server.resetCounters();
      expect((await w.run(['once'])).code).toBe(0);
      expect(w.inspect().counters.tusBytes).toBe(0);
    },
    60_000,
  );
});

describe('what the user sees', () => {
  it('check says whether the server speaks tus and which pieces it takes; dry run names the files that go through tus', async () => {
    world = await World.create({ server: { maxUploadBytes: 5 * MiB } });
    const w = world;
    bigFile(w, 'big.bin', 9 * MiB, 1);
    w.write('small.txt', 'small');
    const check = await w.run(['check']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('tus: yes: files over 4.0 MiB go in resumable pieces of 4.0 MiB');
    const plan = await w.run(['once', '--dry-run']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/upload\s+share: big\.bin\s+\(9\.0 MiB, through tus in pieces of 4\.0 MiB\)/);
    expect(plan.stdout).toMatch(/upload\s+share: small\.txt\s+\(5 bytes\)/);
    expect(plan.stdout).toContain('1 through tus');

    w.server.setTus({ enabled: false });
    const old = await w.run(['check']);
    expect(old.stdout).toMatch(/tus: no \(OPTIONS …\/assets\/tus answered HTTP 404, an older Squidex\)/);
    const oldPlan = await w.run(['once', '--dry-run']);
    expect(oldPlan.stdout).not.toContain('through tus');
  }, 60_000);
});
