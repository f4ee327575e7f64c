import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_FOLDER_ID, SquidexClient } from '../../src/squidex/index.js';
import { endpoint, freePort, waitForAsync } from '../support/service.js';
import { liveAssetsByPath, waitFor, World, type WorldOptions } from '../support/world.js';

/**
 * Changes made in Squidex, seen by the daemon itself (issue 20): its
 * background verify (sync.verifyInterval) lists them under
 * `serverChanges: report` and puts the share's version back under `restore`;
 * and a replace never writes over content someone uploaded in Squidex unless
 * told to.
 */

let world: World | undefined;
let editor: SquidexClient | undefined;
let browser: { context: BrowserContext; profile: string } | undefined;
afterEach(async () => {
  if (browser) {
    await browser.context.close();
    rmSync(browser.profile, { recursive: true, force: true });
  }
  browser = undefined;
  await editor?.close();
  editor = undefined;
  await world?.close();
  world = undefined;
});

const P = 'Design/Shared';
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

interface DriftItem {
  mapping: string;
  path: string;
  assetId: string;
  kind: string;
  detail: string;
}

/** Five files synced by `once`, then an editor at work in Squidex: a delete, a move, a rename, new content, an upload of their own. */
async function drifted(opts: WorldOptions): Promise<{ w: World; ids: Map<string, string>; unknownId: string; shared: string }> {
  world = await World.create(opts);
  const w = world;
  for (const n of ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt', 'e.txt']) w.write(n, `content of ${n}`);
  expect((await w.run(['once'])).code).toBe(0);
  const ids = new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k.slice(P.length + 1), a.id]));
  const shared = w.inspect().folders.find((f) => f.folderName === 'Shared' && !f.deleted)!.id;
  editor = new SquidexClient({ url: w.server.url, app: w.server.app, clientId: w.server.clientId, clientSecret: w.server.clientSecret });
  const file = (name: string, content: string) => {
    const path = join(w.dir, `editor-${randomUUID()}`);
    writeFileSync(path, content);
    return { path, fileName: name };
  };
  await editor.deleteAsset(ids.get('a.txt')!);
  await editor.moveAsset(ids.get('b.txt')!, ROOT_FOLDER_ID);
  await editor.annotate(ids.get('sub/c.txt')!, { fileName: 'c-final.txt' });
  await editor.replaceContent(ids.get('sub/d.txt')!, file('d.txt', "the editor's version"));
  const unknownId = randomUUID();
  await editor.upsertAsset(unknownId, shared, file('from-the-ui.txt', 'uploaded in Squidex'));
  return { w, ids, unknownId, shared };
}

describe('the daemon and changes made in Squidex', () => {
  it('serverChanges: report lists what its background verify finds in status and /status, and changes nothing', async () => {
    const port = await freePort();
    const { w, ids, unknownId } = await drifted({ sync: { verifyInterval: '1s' }, extra: { http: { port } } });
    const before = w.inspect();
    const d = w.startDaemon();
    const ep = endpoint(port, w.statePath);
    const drift = await waitForAsync(
      async () => {
        const r = (await ep.status().catch(() => undefined)) as { drift?: { items: DriftItem[]; verifiedAt: number | null } } | undefined;
        return r?.drift && r.drift.items.length >= 5 ? r.drift : undefined;
      },
      30_000,
      () => d.stdout.slice(-3000),
    );
    expect(drift.verifiedAt).not.toBeNull();
    expect(drift.items.map((i) => [i.kind, i.path, i.assetId]).sort()).toEqual(
      [
        ['content', 'sub/d.txt', ids.get('sub/d.txt')],
        ['missing', 'a.txt', ids.get('a.txt')],
        ['moved', 'b.txt', ids.get('b.txt')],
        ['renamed', 'sub/c.txt', ids.get('sub/c.txt')],
        ['unknown', `${P}/from-the-ui.txt`, unknownId],
      ].sort(),
    );
    // `status` (another process, the same report) shows them in words.
    const human = await w.run(['status']);
    expect(human.stdout).toContain('changed in Squidex, left as it is');
    expect(human.stdout).toMatch(/share: a\.txt\n\s+missing: deleted in Squidex \(asset /);
    expect(human.stdout).toContain('in mapped asset folders, not from the share (never deleted):');
    // The log names each one, once.
    for (const p of ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt']) {
      expect(d.lines.filter((l) => l.component === 'verify' && l.path === p && l.level === 40)).toHaveLength(1);
    }

    // The local page lists them too (Debian's chromium, as in e2e-page.test.ts).
    const profile = mkdtempSync(join(tmpdir(), 'sqsync-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    browser = { context, profile };
    const page = await context.newPage();
    const token = readFileSync(join(dirname(w.statePath), 'web-token'), 'utf8').trim();
    await page.goto(`http://127.0.0.1:${port}/?token=${token}`);
    await page.locator('#drift tr', { hasText: 'share: a.txt' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#drift').textContent()).toContain('missing: deleted in Squidex');
    expect(await page.locator('#drift-note').textContent()).toContain('sync.serverChanges: report');

    // Nothing was fought: the server is as the editor left it.
    const now = w.inspect();
    expect(now.assets.map((a) => [a.id, a.parentId, a.fileName, a.sha256, a.deleted])).toEqual(
      before.assets.map((a) => [a.id, a.parentId, a.fileName, a.sha256, a.deleted]),
    );

    // A newer file on the share is not uploaded over the editor's content either.
    w.write('sub/d.txt', 'edited on the share too');
    const held = await d.waitForLog((l) => l.path === 'sub/d.txt' && l.action === 'hold');
    expect(String(held.msg)).toContain('not uploading sub/d.txt: its content was replaced in Squidex');
    expect(String(held.msg)).toContain('sync.serverChanges: restore');
    expect(held.level).toBe(40);
    expect(w.inspect().assets.find((a) => a.id === ids.get('sub/d.txt'))!.sha256).toBe(sha("the editor's version"));
    expect(await d.stop()).toBe(0);
  });

  it('serverChanges: restore puts the share back without any local change, and leaves the unknown asset', async () => {
    const { w, ids, unknownId, shared } = await drifted({ sync: { verifyInterval: '1s', serverChanges: 'restore' } });
    const d = w.startDaemon();
    const restored = (): boolean => {
      const live = liveAssetsByPath(w.inspect());
      return ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt', 'e.txt'].every(
        (n) => live.get(`${P}/${n}`)?.id === ids.get(n) && live.get(`${P}/${n}`)?.sha256 === sha(`content of ${n}`),
      );
    };
    await waitFor(restored, 30_000, () => d.stdout.slice(-3000));
    const ins = w.inspect();
    expect(ins.createdIds[ids.get('a.txt')!]).toBe(2);
    expect(ins.assets.find((a) => a.id === unknownId)).toMatchObject({ deleted: false, parentId: shared });
    // Each named in the log: by the background verify that found it, or (on a slow machine, when a
    // rescan's replace got there first) by the worker's own check before writing over it. The
    // verify logs its repairs after the last one, so the server can show them all before the lines come.
    const named =
      (p: string) =>
      (l: Record<string, unknown>): boolean =>
        l.path === p && (String(l.msg).startsWith(`restoring ${p}:`) || String(l.msg).startsWith(`overwriting ${p} in Squidex`));
    const paths = ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt'];
    await waitFor(
      () => paths.every((p) => d.lines.some(named(p))),
      20_000,
      () => d.stdout.slice(-3000),
    );
    // What status lists now: the unknown asset only.
    const report = await waitForAsync(async () => {
      const r = JSON.parse((await w.run(['status', '--json'])).stdout) as { drift: { items: DriftItem[] } };
      return r.drift.items.length === 1 ? r : undefined;
    }, 20_000);
    expect(report.drift.items[0]).toMatchObject({ kind: 'unknown', assetId: unknownId });
    expect(await d.stop()).toBe(0);
  });
});

describe('a replace over content someone uploaded in Squidex', () => {
  async function replacedInSquidex(serverChanges: 'report' | 'restore'): Promise<{ w: World; id: string }> {
    world = await World.create({ sync: { serverChanges, verifyInterval: 0 } });
    const w = world;
    w.write('poster.txt', 'first');
    expect((await w.run(['once'])).code).toBe(0);
    const id = liveAssetsByPath(w.inspect()).get(`${P}/poster.txt`)!.id;
    editor = new SquidexClient({ url: w.server.url, app: w.server.app, clientId: w.server.clientId, clientSecret: w.server.clientSecret });
    const path = join(w.dir, 'editor-poster');
    writeFileSync(path, "the editor's poster");
    await editor.replaceContent(id, { path, fileName: 'poster.txt' });
    w.write('poster.txt', 'second, from the share');
    return { w, id };
  }

  it('is left alone under report: listed in status, named in the log', async () => {
    const { w, id } = await replacedInSquidex('report');
    const res = await w.run(['once']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).toMatch(
      /"path":"poster\.txt".*"action":"hold".*not uploading poster\.txt: its content was replaced in Squidex/,
    );
    expect(w.inspect().assets.find((a) => a.id === id)!.sha256).toBe(sha("the editor's poster"));
    const status = JSON.parse((await w.run(['status', '--json'])).stdout) as { drift: { items: DriftItem[] } };
    expect(status.drift.items).toEqual([expect.objectContaining({ kind: 'content', path: 'poster.txt', assetId: id })]);
    // Told to: verify --repair uploads the share's version, and the listing is settled.
    expect((await w.run(['verify', '--repair'])).code).toBe(0);
    expect(w.inspect().assets.find((a) => a.id === id)!.sha256).toBe(sha('second, from the share'));
    expect((JSON.parse((await w.run(['status', '--json'])).stdout) as { drift: { items: DriftItem[] } }).drift.items).toEqual([]);
  });

  it('is overwritten under restore, and the log names it', async () => {
    const { w, id } = await replacedInSquidex('restore');
    const res = await w.run(['once']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).toMatch(
      /"path":"poster\.txt".*overwriting poster\.txt in Squidex: its content was replaced in Squidex/,
    );
    expect(w.inspect().assets.find((a) => a.id === id)!.sha256).toBe(sha('second, from the share'));
  });

  it('is never mistaken for our own earlier replaces', async () => {
    world = await World.create({ sync: { verifyInterval: 0 } });
    const w = world;
    for (const [i, text] of ['one', 'two', 'three'].entries()) {
      w.write('logo.txt', text);
      const res = await w.run(['once']);
      expect(res.code).toBe(0);
      expect(res.stdout, `round ${i}`).not.toContain('"action":"hold"');
      expect(liveAssetsByPath(w.inspect()).get(`${P}/logo.txt`)!.sha256).toBe(sha(text));
    }
    expect((await w.run(['verify'])).code).toBe(0);
  });
});
