import { createHash, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_FOLDER_ID, SquidexClient } from '../../src/squidex/index.js';
import { liveAssetsByPath, uploadRequests, World } from '../support/world.js';

/**
 * `squidex-sync verify` (issue 20): the share, the state file and the mapped
 * asset folders compared; an editor's deletes, moves, renames and uploads in
 * Squidex listed with the right kind, put back by --repair, and an asset the
 * share does not know left alone.
 */

let world: World | undefined;
let editor: SquidexClient | undefined;
afterEach(async () => {
  await editor?.close();
  editor = undefined;
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';

interface Diff {
  kind: string;
  mapping: string;
  path: string;
  assetId: string | null;
  detail: string;
}

/** An editor working in the Squidex UI: the same API, another client. */
function editorOf(w: World): SquidexClient {
  editor = new SquidexClient({ url: w.server.url, app: w.server.app, clientId: w.server.clientId, clientSecret: w.server.clientSecret });
  return editor;
}

/** A file outside the share, for an editor's upload. */
function outside(w: World, name: string, content: string): { path: string; fileName: string } {
  const path = join(w.dir, `editor-${randomUUID()}-${name}`);
  writeFileSync(path, content);
  return { path, fileName: name };
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe('squidex-sync verify', () => {
  it('lists deleted, moved, renamed, replaced and unknown assets, repairs them, and leaves the unknown one', async () => {
    world = await World.create();
    const w = world;
    const names = ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt', 'e.txt', 'f.txt', 'sub/g.txt', 'h.txt'];
    for (const n of names) w.write(n, `content of ${n}`);
    expect((await w.run(['once'])).code).toBe(0);
    const clean = await w.run(['verify']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('8 files compared');
    expect(clean.stdout).toContain('everything matches');

    const live = liveAssetsByPath(w.inspect());
    const id = (n: string): string => live.get(`${P}/${n}`)!.id;
    const shared = w.inspect().folders.find((f) => f.folderName === 'Shared' && !f.deleted)!.id;
    const ed = editorOf(w);
    await ed.deleteAsset(id('a.txt'));
    await ed.moveAsset(id('b.txt'), ROOT_FOLDER_ID);
    await ed.annotate(id('sub/c.txt'), { fileName: 'c-final.txt' });
    await ed.replaceContent(id('sub/d.txt'), outside(w, 'd.txt', "the editor's version"));
    const unknownId = randomUUID();
    await ed.upsertAsset(unknownId, shared, outside(w, 'from-the-ui.txt', 'uploaded in Squidex'));

    const found = await w.run(['verify', '--json']);
    expect(found.code, found.stderr).toBe(1);
    const report = JSON.parse(found.stdout) as { ok: boolean; differences: Diff[] };
    expect(report.ok).toBe(false);
    const kinds = report.differences.map((d) => [d.kind, d.path, d.assetId]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['missing', 'a.txt', id('a.txt')],
        ['moved', 'b.txt', id('b.txt')],
        ['renamed', 'sub/c.txt', id('sub/c.txt')],
        ['content', 'sub/d.txt', id('sub/d.txt')],
        ['unknown', `${P}/from-the-ui.txt`, unknownId],
      ]),
    );
    expect(report.differences).toHaveLength(5);
    expect(report.differences.find((d) => d.kind === 'moved')!.detail).toMatch(/app root, outside the mapping/);
    expect(report.differences.find((d) => d.kind === 'renamed')!.detail).toContain('"c-final.txt"');

    const human = await w.run(['verify']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/missing\s+share: a\.txt: deleted in Squidex \(asset [0-9a-f-]{36}\)/);
    expect(human.stdout).toContain('4 differences (');
    expect(human.stdout).toContain('verify --repair');
    expect(human.stdout).toContain('1 asset in mapped folders not from the share: listed, never deleted.');
    // verify only looks: nothing came back on its own.
    expect(w.inspect().assets.find((a) => a.id === id('a.txt'))!.deleted).toBe(true);

    w.server.resetCounters();
    const repaired = await w.run(['verify', '--repair']);
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(repaired.stdout).toContain('repaired: the server holds what the share says.');
    // Only the deleted and the replaced asset are uploaded again; the moved and renamed ones are moved and renamed.
    expect(uploadRequests(w)).toBe(2);

    const ins = w.inspect();
    const after = liveAssetsByPath(ins);
    for (const n of names) {
      const a = after.get(`${P}/${n}`);
      expect(a, n).toBeDefined();
      expect(a!.id, n).toBe(live.get(`${P}/${n}`)!.id);
      expect(a!.sha256, n).toBe(sha(`content of ${n}`));
    }
    expect(ins.createdIds[id('a.txt')]).toBe(2); // the same id, created again
    const unknown = ins.assets.find((a) => a.id === unknownId)!;
    expect(unknown.deleted).toBe(false);
    expect(unknown.parentId).toBe(shared);

    const again = await w.run(['verify']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toContain('everything matches');
    expect(again.stdout).toMatch(/unknown\s+share: Design\/Shared\/from-the-ui\.txt/);
    expect(ins.assets.filter((a) => !a.deleted)).toHaveLength(9);
  });

  it('sees through a folder renamed and a folder deleted in Squidex, and --repair puts their files back where the share has them', async () => {
    world = await World.create();
    const w = world;
    for (const n of ['logos/a.txt', 'logos/b.txt', 'old/c.txt', 'top.txt']) w.write(n, `content of ${n}`);
    expect((await w.run(['once'])).code).toBe(0);
    const ids = new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k.slice(P.length + 1), a.id]));
    const folder = (name: string) => w.inspect().folders.find((f) => f.folderName === name && !f.deleted)!.id;
    const ed = editorOf(w);
    await ed.renameFolder(folder('logos'), 'brand');
    await ed.deleteFolder(folder('old'));

    const found = await w.run(['verify', '--json']);
    expect(found.code).toBe(1);
    const d = (JSON.parse(found.stdout) as { differences: Diff[] }).differences.map((x) => [x.kind, x.path, x.detail]);
    expect(d).toEqual([
      ['moved', 'logos/a.txt', `moved to folder "${P}/brand" (folder "${P}/logos" no longer exists in Squidex)`],
      ['moved', 'logos/b.txt', `moved to folder "${P}/brand" (folder "${P}/logos" no longer exists in Squidex)`],
      ['missing', 'old/c.txt', 'deleted in Squidex'],
    ]);

    expect((await w.run(['verify', '--repair'])).code).toBe(0);
    const live = liveAssetsByPath(w.inspect());
    for (const n of ['logos/a.txt', 'logos/b.txt', 'old/c.txt', 'top.txt']) expect(live.get(`${P}/${n}`)?.id, n).toBe(ids.get(n));
    expect((await w.run(['verify'])).code).toBe(0);
  });

  it('lists changes on the share not uploaded yet, and --repair uploads them', async () => {
    world = await World.create();
    const w = world;
    w.write('kept.txt', 'one');
    w.write('edited.txt', 'two');
    expect((await w.run(['once'])).code).toBe(0);
    w.write('new.txt', 'three');
    w.write('edited.txt', 'two, edited');
    const found = await w.run(['verify', '--json']);
    expect(found.code).toBe(1);
    const d = (JSON.parse(found.stdout) as { differences: Diff[] }).differences;
    expect(d.map((x) => [x.kind, x.path])).toEqual([
      ['unsynced', 'edited.txt'],
      ['unsynced', 'new.txt'],
    ]);
    // A name written by someone else never drives the terminal: its control characters are escaped.
    w.write('red\u001b[31m.txt', 'four');
    const text = await w.run(['verify']);
    expect(text.stdout).not.toContain('\u001b');
    expect(text.stdout).toContain('share: red\\x1B[31m.txt: not uploaded yet');
    expect((await w.run(['verify', '--repair'])).code).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get(`${P}/edited.txt`)!.sha256).toBe(sha('two, edited'));
    expect((await w.run(['verify'])).code).toBe(0);
  });

  it('--repair of a paused mapping says the re-upload waits for resume, and exits 1', async () => {
    world = await World.create();
    const w = world;
    w.write('a.txt', 'a');
    expect((await w.run(['once'])).code).toBe(0);
    await editorOf(w).deleteAsset(liveAssetsByPath(w.inspect()).get(`${P}/a.txt`)!.id);
    expect((await w.run(['pause'])).code).toBe(0);
    const res = await w.run(['verify', '--repair']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /could not repair:\n\s+missing\s+share: a\.txt: deleted in Squidex .*\n\s+waiting: uploads of "share" are paused/,
    );
    expect((await w.run(['resume'])).code).toBe(0);
    expect((await w.run(['once'])).code).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get(`${P}/a.txt`)).toBeDefined();
  });

  it('--repair refuses while the daemon holds the state, and says what to do', async () => {
    world = await World.create();
    const w = world;
    w.write('a.txt', 'a');
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const res = await w.run(['verify', '--repair']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('sync.serverChanges: restore');
    expect(await d.stop()).toBe(0);
  });
});
