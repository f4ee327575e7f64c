import { createHash } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, waitFor, World, uploadRequests } from '../support/world.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const png = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4c40000000049454e44ae426082',
  'hex',
);

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const uploads = uploadRequests;

describe('squidex-sync once', () => {
  it('mirrors a nested tree with folders, names and content types, then uploads nothing on a second run or a touch', async () => {
    world = await World.create();
    const w = world;
    w.write('logo.png', png);
    w.write('docs/brief.pdf', '%PDF-1.4 brief');
    w.write('docs/2026/notes.txt', 'hello world');
    w.write('docs/2026/deep/data.json', '{"a":1}');

    const first = await w.run(['once']);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const assets = liveAssetsByPath(w.inspect());
    expect([...assets.keys()].sort()).toEqual([
      'Design/Shared/docs/2026/deep/data.json',
      'Design/Shared/docs/2026/notes.txt',
      'Design/Shared/docs/brief.pdf',
      'Design/Shared/logo.png',
    ]);
    expect(assets.get('Design/Shared/logo.png')!.mimeType).toBe('image/png');
    expect(assets.get('Design/Shared/docs/brief.pdf')!.mimeType).toBe('application/pdf');
    expect(assets.get('Design/Shared/docs/2026/notes.txt')!.mimeType).toBe('text/plain');
    expect(assets.get('Design/Shared/docs/2026/notes.txt')!.sha256).toBe(sha('hello world'));
    // Our hash and path are stamped for adoption after a lost database.
    expect(assets.get('Design/Shared/docs/2026/notes.txt')!.metadata).toMatchObject({
      squidexSyncSha256: sha('hello world'),
      squidexSyncPath: 'Design/Shared/docs/2026/notes.txt',
    });
    expect(Object.values(w.inspect().createdIds).every((n) => n === 1)).toBe(true);

    w.server.resetCounters();
    const second = await w.run(['once']);
    expect(second.code).toBe(0);
    expect(uploads(w)).toBe(0);

    // A touch changes mtime only: hashed again, not uploaded.
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(w.local, 'docs/brief.pdf'), later, later);
    const third = await w.run(['once']);
    expect(third.code).toBe(0);
    expect(uploads(w)).toBe(0);
  });

  it('replaces content in place on an edit: same asset id, new bytes, version bumped', async () => {
    world = await World.create();
    const w = world;
    w.write('a/report.txt', 'version one');
    expect((await w.run(['once'])).code).toBe(0);
    const before = liveAssetsByPath(w.inspect()).get('Design/Shared/a/report.txt')!;

    w.write('a/report.txt', 'version two, longer');
    expect((await w.run(['once'])).code).toBe(0);
    const after = liveAssetsByPath(w.inspect()).get('Design/Shared/a/report.txt')!;
    expect(after.id).toBe(before.id);
    expect(after.sha256).toBe(sha('version two, longer'));
    expect(after.fileVersion).toBe(before.fileVersion + 1);
    expect(after.metadata.squidexSyncSha256).toBe(sha('version two, longer'));
    expect(w.inspect().assets.filter((a) => !a.deleted)).toHaveLength(1);
  });

  it('re-adopts every asset after the state database is lost, with zero uploads', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 12; i++) w.write(`set${i % 3}/file-${i}.txt`, `content ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    const ids = new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k, a.id]));
    // Every asset carries our stamp, and the stamps went out in bulk, not one request per file
    // (one request, or a few when a loaded machine spreads the uploads over more than one 200 ms gather).
    const first = w.inspect();
    expect(first.counters.byRoute['POST /assets/bulk']).toBeGreaterThanOrEqual(1);
    expect(first.counters.byRoute['POST /assets/bulk']).toBeLessThanOrEqual(3);
    expect(first.counters.byRoute['PUT /assets/{id}'] ?? 0).toBe(0);
    for (const [path, a] of liveAssetsByPath(first)) {
      expect(a.metadata).toMatchObject({ squidexSyncSha256: a.sha256, squidexSyncPath: path });
    }

    rmSync(join(w.dir, 'state'), { recursive: true, force: true });
    w.server.resetCounters();
    const again = await w.run(['once']);
    expect(again.code, again.stderr).toBe(0);
    expect(uploads(w)).toBe(0);
    expect(w.inspect().counters.byRoute['POST /assets/folders'] ?? 0).toBe(0);
    const now = liveAssetsByPath(w.inspect());
    expect(new Map([...now].map(([k, a]) => [k, a.id]))).toEqual(ids);
  });

  it('applies the default and the configured ignore rules', async () => {
    world = await World.create({ mapping: { ignore: ['drafts/**', '*.bak'] } });
    const w = world;
    w.write('keep.txt', 'keep');
    w.write('.DS_Store', 'junk');
    w.write('Thumbs.db', 'junk');
    w.write('~$report.docx', 'lock');
    w.write('big.psd.part', 'partial');
    w.write('drafts/wip.txt', 'draft');
    w.write('sub/old.bak', 'backup');
    w.write('.git/config', 'git');
    expect((await w.run(['once'])).code).toBe(0);
    expect([...liveAssetsByPath(w.inspect()).keys()]).toEqual(['Design/Shared/keep.txt']);
  });

  it('--dry-run lists the plan and changes nothing on the server or in the state', async () => {
    world = await World.create();
    const w = world;
    w.write('one.txt', '1');
    w.write('sub/two.txt', '2');
    const dry = await w.run(['once', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('upload');
    expect(dry.stdout).toContain('sub/two.txt');
    expect(dry.stdout).toContain('create-folder');
    const ins = w.inspect();
    expect(ins.assets).toHaveLength(0);
    expect(ins.folders).toHaveLength(0);
    expect(existsSync(w.statePath)).toBe(false);

    expect((await w.run(['once'])).code).toBe(0);
    const size = statSync(w.statePath).size;
    w.write('one.txt', 'changed');
    w.server.resetCounters();
    const dry2 = await w.run(['once', '--dry-run']);
    expect(dry2.stdout).toMatch(/replace\s+share: one\.txt/);
    const writes = Object.entries(w.inspect().counters.byRoute).filter(([k]) => !k.startsWith('GET') && k !== 'POST /token');
    expect(writes).toEqual([]);
    expect(statSync(w.statePath).size).toBe(size);
  });

  it('ends with the new content when the file changes during its upload', async () => {
    // One multipart request (tus has its own test of this in e2e-tus.test.ts).
    world = await World.create({ server: { maxUploadBytes: 64 * 1024 * 1024 }, extra: { upload: { tusAboveBytes: '64MiB' } } });
    const w = world;
    const first = Buffer.alloc(8 * 1024 * 1024, 1);
    const second = Buffer.alloc(8 * 1024 * 1024, 2);
    w.write('video.bin', first);
    // Slow responses keep the upload open long enough to change the file under it.
    w.server.setFaults({ latencyMs: 1500 });
    const running = w.run(['once']);
    // Change the file only once its upload has reached the server (and is held there by the latency).
    await waitFor(() => (w.inspect().counters.byRoute['POST /assets/{id}'] ?? 0) >= 1, 30_000);
    w.write('video.bin', second);
    const res = await running;
    expect(res.code, res.stderr + res.stdout).toBe(0);
    w.server.setFaults({ latencyMs: 0 });
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/video.bin')!;
    expect(asset.sha256).toBe(sha(second));
    expect(w.inspect().assets).toHaveLength(1);
    // The first upload carried stale or mixed bytes and was followed by another.
    expect(uploads(w)).toBeGreaterThanOrEqual(2);
  });

  it('a file renamed right after its upload reached the server is in sync, and the rename is a move', async () => {
    world = await World.create();
    const w = world;
    w.write('drop/a.txt', 'renamed while its answer was on the way');
    w.server.setFaults({ latencyMs: 1500 });
    const running = w.run(['once']);
    await waitFor(() => (w.inspect().counters.byRoute['POST /assets/{id}'] ?? 0) >= 1, 30_000);
    renameSync(join(w.local, 'drop/a.txt'), join(w.local, 'drop/b.txt'));
    expect((await running).code).toBe(0);
    w.server.setFaults({ latencyMs: 0 });
    const id = liveAssetsByPath(w.inspect()).get('Design/Shared/drop/a.txt')!.id;
    w.server.resetCounters();
    // The bytes that went out were the whole file: its row is synced, so the next
    // run sees a rename, not a new file (a re-upload, and under keep a second asset).
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploads(w)).toBe(0);
    const now = liveAssetsByPath(w.inspect());
    expect(now.get('Design/Shared/drop/b.txt')?.id).toBe(id);
    expect(now.has('Design/Shared/drop/a.txt')).toBe(false);
  });

  it('exits 3 when squidex.app changes to an app that does not exist, even with nothing to upload', async () => {
    world = await World.create();
    const w = world;
    w.write('a.txt', 'a');
    expect((await w.run(['once'])).code).toBe(0);
    const c = w.config() as { squidex: { app: string } };
    c.squidex.app = 'no-such-app';
    w.writeConfig(c);
    const res = await w.run(['once']);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('no-such-app');
  });

  it('a file the server refused is tried again by the next rescan once it changed (no retry needed)', async () => {
    world = await World.create({ server: { maxUploadBytes: 2048 } });
    const w = world;
    w.write('poster.tif', Buffer.alloc(8192, 1));
    expect((await w.run(['once'])).code).toBe(1);
    // Unchanged, it stays failed: a rescan alone never revives it (crash-loop guard).
    expect((await w.run(['once'])).code).toBe(1);
    await new Promise((r) => setTimeout(r, 20)); // a later mtime than the failure
    w.write('poster.tif', 'a smaller poster');
    const res = await w.run(['once']);
    expect(res.code, res.stdout).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/poster.tif')?.sha256).toBe(sha('a smaller poster'));
  });

  it('uploads identical content at two paths as two assets', async () => {
    world = await World.create();
    const w = world;
    w.write('a/same.txt', 'twin');
    w.write('b/same.txt', 'twin');
    expect((await w.run(['once'])).code).toBe(0);
    const assets = liveAssetsByPath(w.inspect());
    expect(assets.get('Design/Shared/a/same.txt')!.id).not.toBe(assets.get('Design/Shared/b/same.txt')!.id);
  });
});
