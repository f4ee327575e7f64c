import { cpSync, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, waitFor, World, uploadRequests } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';
function route(w: World, key: string): number {
  return w.inspect().counters.byRoute[key] ?? 0;
}
const uploads = uploadRequests;
function ids(w: World): Map<string, string> {
  return new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k, a.id]));
}
function mv(w: World, from: string, to: string): void {
  mkdirSync(join(w.local, to, '..'), { recursive: true });
  renameSync(join(w.local, from), join(w.local, to));
}

describe('moves and renames', () => {
  it('renaming 5 files and moving a folder of 20 makes zero uploads and keeps every asset id', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 5; i++) w.write(`docs/file-${i}.txt`, `doc ${i}`);
    for (let i = 0; i < 20; i++) w.write(`set/item-${i}.txt`, `item ${i}`);
    w.write('archive/old.txt', 'already here');
    expect((await w.run(['once'])).code).toBe(0);
    const before = ids(w);
    const setFolder = w.inspect().folders.find((f) => f.folderName === 'set')!;

    for (let i = 0; i < 5; i++) mv(w, `docs/file-${i}.txt`, `docs/renamed-${i}.txt`);
    mv(w, 'set', 'archive/set');
    w.server.resetCounters();
    const res = await w.run(['once']);
    expect(res.code, res.stderr + res.stdout).toBe(0);

    expect(uploads(w)).toBe(0);
    const after = ids(w);
    for (let i = 0; i < 5; i++) expect(after.get(`${P}/docs/renamed-${i}.txt`)).toBe(before.get(`${P}/docs/file-${i}.txt`));
    for (let i = 0; i < 20; i++) expect(after.get(`${P}/archive/set/item-${i}.txt`)).toBe(before.get(`${P}/set/item-${i}.txt`));
    expect(after.size).toBe(before.size);
    // The folder itself moved: one folder move, no per-file asset moves.
    const moved = w.inspect().folders.find((f) => f.id === setFolder.id)!;
    expect(moved.deleted).toBe(false);
    expect(route(w, 'PUT /assets/folders/{id}/parent')).toBe(1);
    expect(route(w, 'PUT /assets/{id}/parent')).toBe(0);
  });

  it('a renamed folder renames the asset folder (same folder id), with the daemon watching', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`photos/2026/p${i}.png`, `png ${i}`);
    const d = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size === 6,
      20_000,
      () => d.stdout.slice(-2000),
    );
    const photos = w.inspect().folders.find((f) => f.folderName === 'photos')!;
    const before = ids(w);
    w.server.resetCounters();

    mv(w, 'photos', 'pictures');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has(`${P}/pictures/2026/p0.png`),
      20_000,
      () => d.stdout.slice(-3000),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const folder = w.inspect().folders.find((f) => f.id === photos.id)!;
    expect(folder.folderName).toBe('pictures');
    expect(route(w, 'PUT /assets/folders/{id}')).toBe(1);
    expect(uploads(w)).toBe(0);
    const after = ids(w);
    for (let i = 0; i < 6; i++) expect(after.get(`${P}/pictures/2026/p${i}.png`)).toBe(before.get(`${P}/photos/2026/p${i}.png`));
    expect(await d.stop()).toBe(0);
  });

  it('a renamed folder is renamed, not moved file by file, when its files are reported while the rescan runs', async () => {
    // The default stability window (2 s) is longer than the wait before the
    // folder rescan (1.5 s): the files under the new name are reported while it
    // runs, here held open by a slow server (its folder rename takes 1.2 s).
    world = await World.create({ sync: { stabilityMs: 2000 } });
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`shots/day/s${i}.png`, `shot ${i}`);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size === 6,
      20_000,
      () => d.stdout.slice(-2000),
    );
    await new Promise((r) => setTimeout(r, 500));
    const shots = w.inspect().folders.find((f) => f.folderName === 'shots')!;
    const before = ids(w);
    w.server.resetCounters();
    w.server.setFaults({ latencyMs: 1200 });

    mv(w, 'shots', 'takes');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has(`${P}/takes/day/s0.png`),
      30_000,
      () => d.stdout.slice(-3000),
    );
    await new Promise((r) => setTimeout(r, 3000)); // the file events and the follow-up rescan
    w.server.setFaults({ latencyMs: 0 });
    const folders = w.inspect().folders.filter((f) => !f.deleted && f.folderName === 'takes');
    expect(folders.map((f) => f.id)).toEqual([shots.id]);
    expect(route(w, 'POST /assets/folders')).toBe(0);
    expect(uploads(w)).toBe(0);
    const after = ids(w);
    for (let i = 0; i < 6; i++) expect(after.get(`${P}/takes/day/s${i}.png`)).toBe(before.get(`${P}/shots/day/s${i}.png`));
    expect(await d.stop()).toBe(0);
  });

  it('a copy to a second folder is a second asset; the original keeps its own', async () => {
    world = await World.create();
    const w = world;
    w.write('a/logo.svg', '<svg/>');
    expect((await w.run(['once'])).code).toBe(0);
    const original = ids(w).get(`${P}/a/logo.svg`);
    cpSync(join(w.local, 'a'), join(w.local, 'b'), { recursive: true });
    expect((await w.run(['once'])).code).toBe(0);
    const now = ids(w);
    expect(now.get(`${P}/a/logo.svg`)).toBe(original);
    expect(now.get(`${P}/b/logo.svg`)).toBeDefined();
    expect(now.get(`${P}/b/logo.svg`)).not.toBe(original);
  });

  it('case-only and NFC→NFD renames rename the same asset, with zero uploads', async () => {
    world = await World.create();
    const w = world;
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    w.write('Logo.PNG', 'logo bytes');
    w.write(nfc, 'coffee');
    expect((await w.run(['once'])).code).toBe(0);
    const before = w.inspect().assets;
    mv(w, 'Logo.PNG', 'logo.png');
    mv(w, nfc, nfd);
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploads(w)).toBe(0);
    const after = w.inspect().assets.filter((a) => !a.deleted);
    expect(after).toHaveLength(2);
    const logo = after.find((a) => a.id === before.find((b) => b.fileName === 'Logo.PNG')!.id)!;
    expect(logo.fileName).toBe('logo.png');
    const cafe = after.find((a) => a.id === before.find((b) => b.fileName === nfc)!.id)!;
    expect(cafe.fileName).toBe(nfd);
  });

  it('--dry-run shows the moves, folder renames and deletes it would make', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    w.write('x/one.txt', 'one');
    w.write('x/two.txt', 'two');
    w.write('y/three.txt', 'three');
    w.write('gone.txt', 'bye');
    expect((await w.run(['once'])).code).toBe(0);
    mv(w, 'x', 'z');
    mv(w, 'y/three.txt', 'y/four.txt');
    w.rm('gone.txt');
    w.server.resetCounters();
    const dry = await w.run(['once', '--dry-run']);
    expect(dry.stdout).toMatch(/rename-folder\s+share: x\s+\(to z/);
    expect(dry.stdout).toMatch(/move\s+share: y\/four\.txt\s+\(from y\/three\.txt/);
    expect(dry.stdout).toMatch(/delete\s+share: gone\.txt/);
    const writes = Object.keys(w.inspect().counters.byRoute).filter((k) => !k.startsWith('GET') && k !== 'POST /token');
    expect(writes).toEqual([]);
  });
});

describe('deletes and the delete guard', () => {
  it('deletes: keep never deletes on the server and status lists the kept asset', async () => {
    world = await World.create();
    const w = world;
    w.write('keep/me.txt', 'precious');
    w.write('other.txt', 'other');
    expect((await w.run(['once'])).code).toBe(0);
    w.rm('keep');
    w.server.resetCounters();
    const res = await w.run(['once']);
    expect(res.code).toBe(0);
    expect(route(w, 'DELETE /assets/{id}')).toBe(0);
    expect(route(w, 'DELETE /assets/folders/{id}')).toBe(0);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/keep/me.txt`)).toBe(true);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout);
    expect(status.kept.map((k: { path: string }) => k.path)).toEqual(['keep/me.txt']);
    expect(status.mappings[0].keptOnServer).toBe(1);
  });

  it('deletes: delete soft-deletes the asset and removes the asset folder left empty', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    w.write('old/a.txt', 'a');
    w.write('old/b.txt', 'b');
    w.write('stay.txt', 'stay');
    expect((await w.run(['once'])).code).toBe(0);
    const oldFolder = w.inspect().folders.find((f) => f.folderName === 'old')!;
    w.rm('old');
    const res = await w.run(['once']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const ins = w.inspect();
    expect(
      ins.assets
        .filter((a) => a.deleted)
        .map((a) => a.fileName)
        .sort(),
    ).toEqual(['a.txt', 'b.txt']);
    expect(liveAssetsByPath(ins).has(`${P}/stay.txt`)).toBe(true);
    expect(ins.folders.find((f) => f.id === oldFolder.id)!.deleted).toBe(true);
  });

  for (const how of ['removed', 'emptied'] as const) {
    it(`a mapping root that is ${how} triggers the guard: zero deletes sent, held deletions shown`, async () => {
      world = await World.create({ mapping: { deletes: 'delete' } });
      const w = world;
      for (let i = 0; i < 5; i++) w.write(`f${i}.txt`, `${i}`);
      expect((await w.run(['once'])).code).toBe(0);
      if (how === 'removed') w.rm('');
      else for (const f of readdirSync(w.local)) w.rm(f);
      w.server.resetCounters();
      const res = await w.run(['once']);
      expect(res.stdout).toMatch(/deletions held because the folder .* is (missing|empty)/);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain(how === 'removed' ? 'Mount the share' : 'squidex-sync confirm-deletes share');
      expect(route(w, 'DELETE /assets/{id}')).toBe(0);
      expect(liveAssetsByPath(w.inspect()).size).toBe(5);
      const status = JSON.parse((await w.run(['status', '--json'])).stdout);
      expect(status.mappings[0].guard).toMatch(/missing|empty/);
      expect(status.mappings[0].heldDeletes).toBe(5);

      if (how === 'emptied') {
        // Confirmed by the user: the deletions go through.
        const confirmed = await w.run(['once', '--allow-mass-delete']);
        expect(confirmed.code).toBe(0);
        expect(route(w, 'DELETE /assets/{id}')).toBe(5);
      }
    });
  }

  it('holds deletions when a rescan finds more than half of at least 20 files gone, and syncs the rest', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (let i = 0; i < 30; i++) w.write(`many/f${i}.txt`, `file ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    for (let i = 0; i < 25; i++) w.rm(`many/f${i}.txt`);
    w.write('new.txt', 'still synced');
    w.server.resetCounters();
    const res = await w.run(['once']);
    // The verdict follows the live count, so new.txt is counted when it was uploaded before the last look.
    expect(res.stdout).toMatch(/25 of (30 files \(83%\)|31 files \(81%\)) vanished at once/);
    expect(route(w, 'DELETE /assets/{id}')).toBe(0);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/new.txt`)).toBe(true);
  });
});
