import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_FOLDER_ID, SquidexClient } from '../../src/squidex/index.js';
import { openState } from '../../src/state/index.js';
import { hangs, msg, stopsCleanly } from '../support/stop.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

/**
 * A stop never waits for Squidex to answer, whichever step of the stop has a
 * request on the wire: the background verify's listing and its repairs under
 * `serverChanges: restore` (the stop's "verify" step), a rescan's asset-folder
 * rename (the "watchers" step). The test server reads such a request and never
 * answers; the drain is short, so the hard stop (drain + 10 s) comes long
 * before the request's own deadline (twice squidex.timeoutSeconds).
 * A job's requests: stop-jobs.test.ts.
 */

let world: World | undefined;
let editor: SquidexClient | undefined;
afterEach(async () => {
  await editor?.close();
  editor = undefined;
  await world?.close();
  world = undefined;
});

describe('a stop during the background verify', () => {
  it('does not wait for the folder listing', { timeout: 60_000 }, async () => {
    // The verify lists every folder of the app (no parentId); the start's own checks list some too, before `on`.
    const h = hangs((method, path) => method === 'GET' && path.endsWith('/assets/folders'));
    world = await World.create({ sync: { shutdownTimeoutMs: 1000, verifyInterval: '1s' }, server: h.server });
    const daemon = world.startDaemon();
    await daemon.waitForLog((l) => msg(l) === 'squidex-sync is running');
    h.on = true;
    await waitFor(
      () => h.asked > 0,
      20_000,
      () => `no folder listing; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    const said = await stopsCleanly(daemon);
    // Not a failure: the verify that did not finish runs again at the next interval.
    expect(said.filter((m) => m.startsWith('verify did not finish'))).toEqual([]);
  });

  // A move back, and a rename back (stamp()'s annotate); a.txt, deleted in Squidex, is queued for re-upload before them.
  it.each([
    { kind: 'moved', hang: /\/assets\/[^/]+\/parent$/ },
    { kind: 'renamed', hang: /\/assets\/[^/]+$/ },
  ])(
    'under restore, does not wait for a repair either ($kind): nothing half-recorded, the next start repairs it',
    {
      timeout: 90_000,
    },
    async ({ kind, hang }) => {
      const h = hangs((method, path) => method === 'PUT' && hang.test(path) && !path.includes('/assets/folders'));
      world = await World.create({ sync: { shutdownTimeoutMs: 1000, verifyInterval: '1s', serverChanges: 'restore' }, server: h.server });
      const w = world;
      w.write('a.txt', 'content of a');
      w.write('b.txt', 'content of b');
      expect((await w.run(['once'])).code).toBe(0);
      const rowOf = (path: string) => {
        const state = openState(w.statePath, { recover: false, verify: false });
        try {
          return { row: state.files.get('share', path), queued: state.jobs.pending().map((j) => j.path) };
        } finally {
          state.close();
        }
      };
      const before = rowOf('b.txt').row!;
      const live = (): Map<string, { id: string; sha256: string }> => liveAssetsByPath(w.inspect());
      const a = live().get('Design/Shared/a.txt')!;
      editor = new SquidexClient({
        url: w.server.url,
        app: w.server.app,
        clientId: w.server.clientId,
        clientSecret: w.server.clientSecret,
      });
      await editor.deleteAsset(a.id);
      if (kind === 'moved') await editor.moveAsset(before.assetId, ROOT_FOLDER_ID);
      else await editor.annotate(before.assetId, { fileName: 'b-final.txt' });
      h.on = true;
      const daemon = w.startDaemon();
      await waitFor(
        () => h.asked > 0,
        30_000,
        () => `no repair request; stdout:\n${daemon.stdout.slice(-3000)}`,
      );
      const said = await stopsCleanly(daemon);
      expect(said.filter((m) => m.startsWith('cannot restore') || m.startsWith('verify did not finish'))).toEqual([]);
      // Nothing recorded of the repair that did not happen; the re-upload decided before it is queued, not lost.
      const after = rowOf('b.txt');
      expect(after.row).toMatchObject({ parentId: before.parentId, version: before.version, sha256: before.sha256 });
      expect(after.queued).toContain('a.txt');
      // The next start puts both back.
      h.on = false;
      const again = w.startDaemon();
      await waitFor(
        () => live().get('Design/Shared/b.txt')?.id === before.assetId && live().has('Design/Shared/a.txt'),
        30_000,
        () => again.stdout.slice(-3000),
      );
      expect(await again.stop('SIGINT', 30_000)).toBe(0);
    },
  );
});

describe('a stop during a rescan that renames an asset folder', () => {
  it('does not wait for the rename; the next start renames it, uploading nothing', { timeout: 90_000 }, async () => {
    const h = hangs((method, path) => method === 'PUT' && /\/assets\/folders\/[^/]+$/.test(path));
    // The folder's own events come first (its files' wait for the stability window): they hold
    // the files' events and ask for a rescan, which sees the whole folder renamed.
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, mapping: { watch: 'events' }, server: h.server });
    const w = world;
    w.write('old/a.txt', 'hello');
    const daemon = w.startDaemon();
    await daemon.waitForLog((l) => l.action === 'upload' && l.path === 'old/a.txt', 30_000);
    await waitFor(
      () => {
        const s = openState(w.statePath, { recover: false, verify: false });
        try {
          return s.files.get('share', 'old/a.txt')?.sha256;
        } finally {
          s.close();
        }
      },
      20_000,
      () => daemon.stdout.slice(-3000),
    );
    h.on = true;
    renameSync(join(w.local, 'old'), join(w.local, 'new'));
    await waitFor(
      () => h.asked > 0,
      30_000,
      () => `no folder rename; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    const said = await stopsCleanly(daemon);
    expect(said).toContain('rescan stopped: squidex-sync is stopping');
    // Neither a failure nor a fall-back to moving file by file.
    expect(said.filter((m) => m.startsWith('renaming asset folder'))).toEqual([]);
    // Nothing recorded: the row still names the old folder, so the next rescan finds the rename again.
    const state = openState(w.statePath);
    try {
      expect(state.files.get('share', 'old/a.txt')).toBeDefined();
      expect(state.files.get('share', 'new/a.txt')).toBeUndefined();
    } finally {
      state.close();
    }
    h.on = false;
    const uploads = w.inspect().counters.uploads;
    const again = w.startDaemon();
    await again.waitForLog((l) => msg(l).startsWith('folder renamed: old → new'), 30_000);
    const live = liveAssetsByPath(w.inspect());
    expect(live.has('Design/Shared/new/a.txt')).toBe(true);
    expect(w.inspect().counters.uploads).toBe(uploads);
    expect(await again.stop('SIGINT', 30_000)).toBe(0);
  });
});
