import { mkdirSync, renameSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, uploadRequests, waitFor, World } from '../support/world.js';

/** Whole-folder renames and moves among other changes, and the asset folders they leave behind. */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';
const route = (w: World, key: string): number => w.inspect().counters.byRoute[key] ?? 0;
const ids = (w: World): Map<string, string> => new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k, a.id]));
const folder = (w: World, name: string) => w.inspect().folders.filter((f) => !f.deleted && f.folderName === name);
function mv(w: World, from: string, to: string): void {
  mkdirSync(join(w.local, to, '..'), { recursive: true });
  renameSync(join(w.local, from), join(w.local, to));
}

describe('folder moves', () => {
  it('a folder moved into a parent created at the same moment is one folder move, nothing per file', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 40; i++) w.write(`Archive/Old/f${i}.txt`, `old ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    const before = ids(w);
    const old = folder(w, 'Old')[0];
    w.server.resetCounters();

    mv(w, 'Archive/Old', 'Archive/2025/Old');
    const res = await w.run(['once']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(route(w, 'PUT /assets/folders/{id}/parent')).toBe(1);
    expect(route(w, 'PUT /assets/{id}/parent')).toBe(0);
    expect(route(w, 'PUT /assets/{id}')).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    expect(folder(w, 'Old').map((f) => f.id)).toEqual([old.id]);
    const after = ids(w);
    for (let i = 0; i < 40; i++) expect(after.get(`${P}/Archive/2025/Old/f${i}.txt`)).toBe(before.get(`${P}/Archive/Old/f${i}.txt`));
  });

  it('a folder rename and an unrelated rename of a copy, in the same moment under the daemon, stay a folder rename and a rename', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`a-images/2027/p${i}.png`, `png ${i}`);
    w.write('a-images/2026/a.png', 'a');
    w.write('docs/copy.txt', 'png 0'); // the same bytes as a-images/2027/p0.png
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size === 8,
      20_000,
      () => d.stdout.slice(-2000),
    );
    const before = ids(w);
    const y2027 = folder(w, '2027')[0];
    w.server.resetCounters();

    mv(w, 'a-images/2027', 'a-images/2028');
    mv(w, 'docs/copy.txt', 'docs/copy2.txt');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has(`${P}/a-images/2028/p5.png`) && liveAssetsByPath(w.inspect()).has(`${P}/docs/copy2.txt`),
      20_000,
      () => d.stdout.slice(-3000),
    );
    await new Promise((r) => setTimeout(r, 2500)); // the follow-up rescan and its clean-up
    expect(folder(w, '2028').map((f) => f.id)).toEqual([y2027.id]);
    expect(route(w, 'POST /assets/folders')).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    const after = ids(w);
    expect(after.get(`${P}/docs/copy2.txt`)).toBe(before.get(`${P}/docs/copy.txt`));
    for (let i = 0; i < 6; i++) expect(after.get(`${P}/a-images/2028/p${i}.png`)).toBe(before.get(`${P}/a-images/2027/p${i}.png`));
    expect(await d.stop()).toBe(0);
  });
});

describe('a renamed folder that also got a new file', () => {
  it('is still one folder rename; the new file is uploaded into it, and the dry run says so', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 5; i++) w.write(`brochures/b${i}.pdf`, `pdf ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    const brochures = folder(w, 'brochures')[0];
    mv(w, 'brochures', 'print');
    w.write('print/new.pdf', 'a new one');
    w.server.resetCounters();
    const dry = await w.run(['once', '--dry-run']);
    expect(dry.stdout).toMatch(/rename-folder\s+share: brochures\s+\(to print, 5 files/);
    expect(dry.stdout).toMatch(/upload\s+share: print\/new\.pdf/);
    expect(dry.stdout).not.toMatch(/share: print\/b0\.pdf/);

    expect((await w.run(['once'])).code).toBe(0);
    expect(folder(w, 'print').map((f) => f.id)).toEqual([brochures.id]);
    expect(uploadRequests(w)).toBe(1);
    expect(route(w, 'PUT /assets/{id}/parent')).toBe(0);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/print/new.pdf`)).toBe(true);
  });
});

describe('deletes: keep and the asset folders moves empty', () => {
  it('removes a folder squidex-sync created once moves emptied it, and keeps one that still holds a kept asset', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 3; i++) w.write(`Projects/A/f${i}.txt`, `a ${i}`);
    for (let i = 0; i < 3; i++) w.write(`loose/l${i}.txt`, `loose ${i}`);
    w.write('target/existing.txt', 'target was here');
    w.write('Clients/existing.txt', 'a client');
    w.write('gone/kept.txt', 'kept on the server');
    expect((await w.run(['once'])).code).toBe(0);
    const projects = folder(w, 'Projects')[0];
    const loose = folder(w, 'loose')[0];
    const gone = folder(w, 'gone')[0];

    mv(w, 'Projects/A', 'Clients/A'); // a whole-folder move; Projects is left empty …
    rmdirSync(join(w.local, 'Projects')); // … and removed
    for (let i = 0; i < 3; i++) mv(w, `loose/l${i}.txt`, `target/l${i}.txt`); // file by file
    rmdirSync(join(w.local, 'loose'));
    w.rm('gone'); // deleted locally: its asset stays (keep), and so does its folder
    const res = await w.run(['once']);
    expect(res.code, res.stdout + res.stderr).toBe(0);

    const state = (id: string) => w.inspect().folders.find((f) => f.id === id)!.deleted;
    expect(state(projects.id)).toBe(true);
    expect(state(loose.id)).toBe(true);
    expect(state(gone.id)).toBe(false);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/gone/kept.txt`)).toBe(true);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/Clients/A/f0.txt`)).toBe(true);
    expect(route(w, 'PUT /assets/folders/{id}/parent')).toBe(1);
    expect(route(w, 'DELETE /assets/{id}')).toBe(0);

    // The folder that holds a kept asset is not looked at again.
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(route(w, 'GET /assets')).toBe(0);
  });

  it('never removes an asset folder it did not create', async () => {
    world = await World.create();
    const w = world;
    w.write('made-by-editor/x.txt', 'x');
    w.write('other/y.txt', 'y');
    // The folder exists on the server before squidex-sync ever runs: an editor made it.
    const token = await fetch(`${w.server.url}/identity-server/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${w.server.clientId}&client_secret=${w.server.clientSecret}&scope=squidex-api`,
    }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);
    const create = async (name: string, parentId: string): Promise<string> => {
      const r = await fetch(`${w.server.url}/api/apps/${w.server.app}/assets/folders`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ folderName: name, parentId }),
      });
      return ((await r.json()) as { id: string }).id;
    };
    const design = await create('Design', '00000000-0000-0000-0000-000000000000');
    const shared = await create('Shared', design);
    const editors = await create('made-by-editor', shared);
    expect((await w.run(['once'])).code).toBe(0);

    mv(w, 'made-by-editor/x.txt', 'other/x.txt');
    rmdirSync(join(w.local, 'made-by-editor'));
    expect((await w.run(['once'])).code).toBe(0);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/other/x.txt`)).toBe(true);
    expect(w.inspect().folders.find((f) => f.id === editors)!.deleted).toBe(false);
  });
});
