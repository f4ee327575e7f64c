import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SquidexClient } from '../../src/squidex/index.js';
import { openState } from '../../src/state/index.js';
import { bigFile, MiB } from '../support/bigfiles.js';
import { hangs, stopsCleanly } from '../support/stop.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

/**
 * A job aborted at the drain's deadline leaves the request it has on the wire
 * (the pool waits for aborted jobs, so one that waited for a server that never
 * answers held the stop until the hard stop, "uploads"), and whatever it did not
 * finish is done at the next start. As in stop-requests.test.ts, the test server
 * reads such a request and never answers.
 */

let world: World | undefined;
let editor: SquidexClient | undefined;
afterEach(async () => {
  await editor?.close();
  editor = undefined;
  await world?.close();
  world = undefined;
});

const FIXTURES = join(import.meta.dirname, '../fixtures/metadata');
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('a stop while a job moves an asset', () => {
  // To another folder (the move request hangs), and within its folder (the rename, by its stamp, hangs).
  it.each([
    { to: 'y/a.txt', hang: /\/assets\/[^/]+\/parent$/ },
    { to: 'x/b.txt', hang: /\/assets\/[^/]+$/ },
  ])('does not wait for it ($to); the next start finishes it under the same asset id', { timeout: 90_000 }, async ({ to, hang }) => {
    const h = hangs((method, path) => method === 'PUT' && hang.test(path) && !path.includes('/assets/folders'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    // x keeps a file: a.txt moves alone, not with its folder.
    w.write('x/a.txt', 'moving');
    w.write('x/stays.txt', 'staying');
    w.write('y/here.txt', 'here');
    const daemon = w.startDaemon();
    for (const p of ['x/a.txt', 'x/stays.txt', 'y/here.txt']) await daemon.waitForLog((l) => l.action === 'upload' && l.path === p, 30_000);
    const id = liveAssetsByPath(w.inspect()).get('Design/Shared/x/a.txt')!.id;
    h.on = true;
    renameSync(join(w.local, 'x/a.txt'), join(w.local, to));
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no move; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get(`Design/Shared/${to}`)?.id === id,
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(liveAssetsByPath(w.inspect()).has('Design/Shared/x/a.txt')).toBe(false);
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job deletes an asset', () => {
  it('does not wait for the delete; the row is put back and the next start deletes it', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'DELETE' && /\/assets\/[^/]+$/.test(path) && !path.includes('/assets/folders'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events', deletes: 'delete' }, server: h.server });
    const w = world;
    const names = ['gone.txt', ...Array.from({ length: 9 }, (_, i) => `f${i}.txt`)];
    for (const n of names) w.write(n, `content of ${n}`);
    const daemon = w.startDaemon();
    for (const p of names) await daemon.waitForLog((l) => l.action === 'upload' && l.path === p, 30_000);
    const id = liveAssetsByPath(w.inspect()).get('Design/Shared/gone.txt')!.id;
    h.on = true;
    w.rm('gone.txt');
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no delete; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    const state = openState(w.statePath);
    try {
      expect(state.files.get('share', 'gone.txt')?.assetId).toBe(id);
    } finally {
      state.close();
    }
    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => w.inspect().assets.find((a) => a.id === id)?.deleted,
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job looks at the asset it would write over', () => {
  const getAsset = (method: string, path: string): boolean =>
    method === 'GET' && /\/assets\/[^/]+$/.test(path) && !path.includes('/assets/folders');

  it('a replace: does not wait for the check of what Squidex holds', { timeout: 90_000 }, async () => {
    const h = hangs(getAsset);
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    w.write('a.txt', 'first');
    const daemon = w.startDaemon();
    await daemon.waitForLog((l) => l.action === 'upload' && l.path === 'a.txt', 30_000);
    h.on = true;
    w.write('a.txt', 'second, longer');
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no check; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/a.txt')?.sha256 === sha('second, longer'),
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });

  it('an adoption: does not wait for the asset it takes as the file’s; the next start adopts it', { timeout: 90_000 }, async () => {
    const h = hangs(getAsset);
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    w.write('first.txt', 'first');
    expect((await w.run(['once'])).code).toBe(0);
    // Someone uploaded the same bytes under the same name in Squidex: the file takes that asset, unstamped, as its own.
    const shared = liveAssetsByPath(w.inspect()).get('Design/Shared/first.txt')!.parentId;
    editor = new SquidexClient({ url: w.server.url, app: w.server.app, clientId: w.server.clientId, clientSecret: w.server.clientSecret });
    const theirs = join(w.dir, 'theirs.txt');
    writeFileSync(theirs, 'same bytes');
    const id = randomUUID();
    await editor.upsertAsset(id, shared, { path: theirs, fileName: 'same.txt' });
    w.write('same.txt', 'same bytes');
    h.on = true;
    const daemon = w.startDaemon();
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no adoption; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    await again.waitForLog((l) => l.path === 'same.txt' && l.action === 'adopt', 30_000);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/same.txt')?.id).toBe(id);
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job re-annotates an asset', () => {
  it('a sidecar edit: does not wait for the new tags; the next start writes them', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'PUT' && /\/assets\/[^/]+$/.test(path) && !path.includes('/assets/folders'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    const shoot = readFileSync(join(FIXTURES, 'shoot.xmp'), 'utf8');
    w.write('raw/shoot.cr2', readFileSync(join(FIXTURES, 'shoot.cr2')));
    w.write('raw/shoot.xmp', shoot);
    expect((await w.run(['once'])).code).toBe(0);
    const daemon = w.startDaemon();
    await daemon.waitForLog((l) => l.msg === 'squidex-sync is running', 30_000);
    h.on = true;
    w.write('raw/shoot.xmp', shoot.replace('portrait', 'headshot'));
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no annotate; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/raw/shoot.cr2')?.tags.includes('headshot'),
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job waits for its folder’s asset listing', () => {
  it('does not wait for the listing (shared by the folder’s jobs); the next start uploads the file', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'GET' && path.endsWith('/assets'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    w.write('first.txt', 'first');
    expect((await w.run(['once'])).code).toBe(0);
    const daemon = w.startDaemon();
    await daemon.waitForLog((l) => l.msg === 'squidex-sync is running', 30_000);
    // A folder this process did not create: before uploading, a new file looks for an asset that may already be it.
    h.on = true;
    w.write('second.txt', 'second');
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no listing; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/second.txt')?.sha256 === sha('second'),
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job renames its whole folder', () => {
  it('does not wait for the folder rename; the next start renames it, uploading nothing', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'PUT' && /\/assets\/folders\/[^/]+$/.test(path));
    // Poll mode reports no folder events: the renamed folder reaches the workers file by file, and the
    // first of them renames the asset folder as a whole (foldermove.ts), not the rescan. The next start
    // comes after the move window: the old paths' delete jobs, queued before the stop, wait for its rescan.
    world = await World.create({
      sync: { shutdownTimeoutMs: 1000, stabilityMs: 200 },
      mapping: { watch: 'poll' },
      server: h.server,
    });
    const w = world;
    w.write('old/a.txt', 'content of a');
    w.write('old/b.txt', 'content of b');
    const daemon = w.startDaemon();
    for (const p of ['old/a.txt', 'old/b.txt']) await daemon.waitForLog((l) => l.action === 'upload' && l.path === p, 30_000);
    await daemon.waitForLog((l) => l.msg === 'squidex-sync is running', 30_000);
    h.on = true;
    renameSync(join(w.local, 'old'), join(w.local, 'new'));
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no folder rename; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    const said = await stopsCleanly(daemon);
    // Neither a failure nor a fall-back to moving file by file.
    expect(said.filter((m) => m.startsWith('renaming asset folder'))).toEqual([]);
    // Nothing recorded: the rows still name the old folder, so the next start finds the rename again.
    const state = openState(w.statePath);
    try {
      expect(state.files.get('share', 'old/a.txt')).toBeDefined();
      expect(state.files.get('share', 'new/a.txt')).toBeUndefined();
    } finally {
      state.close();
    }
    h.on = false;
    const uploads = w.inspect().counters.uploads;
    const ids = [...liveAssetsByPath(w.inspect()).values()].map((a) => a.id).sort();
    const again = w.startDaemon();
    await again.waitForLog((l) => String(l.msg).startsWith('folder renamed: old → new'), 30_000);
    const live = liveAssetsByPath(w.inspect());
    expect([...live.keys()].sort()).toEqual(['Design/Shared/new/a.txt', 'Design/Shared/new/b.txt']);
    expect([...live.values()].map((a) => a.id).sort()).toEqual(ids);
    expect(w.inspect().counters.uploads).toBe(uploads);
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job waits for its asset’s stamp on the wire', () => {
  it('does not wait for the bulk request; the next start finishes the rename under the same asset id', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'POST' && path.endsWith('/assets/bulk'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    w.write('a.txt', 'renamed while its stamp is sent');
    h.on = true;
    const daemon = w.startDaemon();
    await daemon.waitForLog((l) => l.action === 'upload' && l.path === 'a.txt', 30_000);
    // The upload's stamp goes out in a bulk request that is never answered.
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no bulk request; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    const id = liveAssetsByPath(w.inspect()).get('Design/Shared/a.txt')!.id;
    // The rename writes the name and the stamp itself, after the stamp on the wire: the job waits for that request.
    renameSync(join(w.local, 'a.txt'), join(w.local, 'b.txt'));
    const running = (): boolean => {
      const s = openState(w.statePath, { recover: false, verify: false });
      try {
        return s.jobs.pending().some((j) => j.path === 'b.txt' && j.state === 'running');
      } finally {
        s.close();
      }
    };
    await waitFor(running, 30_000, () => `no job for b.txt; stdout:\n${daemon.stdout.slice(-3000)}`);
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/b.txt')?.id === id,
      30_000,
      () => again.stdout.slice(-3000),
    );
    expect(liveAssetsByPath(w.inspect()).has('Design/Shared/a.txt')).toBe(false);
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});

describe('a stop while a job drops a big upload its file outgrew', () => {
  it('does not wait for the DELETE; the next start drops it and uploads the file as it is now', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'DELETE' && /\/assets\/tus\/[^/]+$/.test(path));
    // 1 MiB pieces at 16 MiB/s: the upload is caught half-way.
    world = await World.create({
      sync: { shutdownTimeoutMs: 1000 },
      server: { maxUploadBytes: 5 * MiB, ...h.server },
      extra: { upload: { chunkBytes: '1MiB', maxBytesPerSecond: '16MiB' } },
    });
    const w = world;
    bigFile(w, 'big.bin', 24 * MiB, 3);
    const first = w.startDaemon();
    await waitFor(
      () => (w.inspect().tus[0]?.offset ?? 0) >= 4 * MiB,
      30_000,
      () => `server holds ${JSON.stringify(w.inspect().tus)}; stdout:\n${first.stdout.slice(-3000)}`,
    );
    await stopsCleanly(first);
    // Changed since its upload started: what the server holds is stale, and is dropped first.
    appendFileSync(join(w.local, 'big.bin'), Buffer.from('one more line'));
    h.on = true;
    const daemon = w.startDaemon();
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no DELETE; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    h.on = false;
    const again = w.startDaemon();
    const want = createHash('sha256').update(w.read('big.bin')).digest('hex');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/big.bin')?.sha256 === want,
      60_000,
      () => again.stdout.slice(-3000),
    );
    expect(w.inspect().tus).toEqual([]);
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});
