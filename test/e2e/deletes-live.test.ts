import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';
const deletes = (w: World): number => w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0;

describe('deletes seen by the watcher, and files that come back', () => {
  it('holds a mass deletion the watcher reports between rescans (a stray rm), as a rescan would', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (let i = 0; i < 30; i++) w.write(`many/f${i}.txt`, `file ${i}`);
    const d = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size === 30,
      20_000,
      () => d.stdout.slice(-2000),
    );
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    for (let i = 0; i < 25; i++) w.rm(`many/f${i}.txt`);
    await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('deletions held: 25 of 30 files'), 20_000);
    // Well past the move window: still nothing deleted.
    await new Promise((r) => setTimeout(r, 2000));
    expect(deletes(w)).toBe(0);
    expect(liveAssetsByPath(w.inspect()).size).toBe(30);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout);
    expect(status.mappings[0].guard).toMatch(/25 of 30 files/);
    expect(await d.stop()).toBe(0);
  });

  it('a deleted file put back is uploaded again, never adopted from the recycle bin', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    w.write('d/x.txt', 'the x file');
    for (let i = 0; i < 3; i++) w.write(`keep${i}.txt`, `${i}`); // so one delete is no mass delete
    // Synced by an earlier run: the daemon then knows folder d without having created it.
    expect((await w.run(['once'])).code).toBe(0);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    // A new file in the same folder makes the worker list the folder for adoption (and cache it).
    w.write('d/y.txt', 'the y file');
    await waitFor(() => liveAssetsByPath(w.inspect()).has(`${P}/d/y.txt`), 20_000);
    w.rm('d/x.txt');
    await waitFor(
      () => deletes(w) === 1,
      20_000,
      () => d.stdout.slice(-2000),
    );
    w.write('d/x.txt', 'the x file');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).has(`${P}/d/x.txt`),
      20_000,
      () => d.stdout.slice(-3000),
    );
    expect(await d.stop()).toBe(0);
  });

  it('files back after a share outage are in sync again, and a later rename is a move, not delete + upload', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (let i = 0; i < 6; i++) w.write(`f${i}.txt`, `file ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    const ids = new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k, a.id]));
    const aside = join(w.dir, 'share-aside');
    renameSync(w.local, aside); // the share goes away …
    expect((await w.run(['once'])).stdout).toMatch(/deletions held/);
    renameSync(aside, w.local); // … and comes back unchanged
    expect((await w.run(['once'])).code).toBe(0);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout);
    expect(status.mappings[0].inSync).toBe(6);
    expect(status.mappings[0].heldDeletes).toBe(0);
    expect(status.mappings[0].guard).toBeNull();

    mkdirSync(join(w.local, 'sub'));
    renameSync(join(w.local, 'f0.txt'), join(w.local, 'sub', 'g0.txt'));
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(deletes(w)).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get(`${P}/sub/g0.txt`)?.id).toBe(ids.get(`${P}/f0.txt`));
  });
});
