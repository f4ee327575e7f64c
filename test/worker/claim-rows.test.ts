import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { ClaimAhead } from '../../src/worker/ahead.js';
import { immediate } from '../../src/worker/context.js';
import { reconcile } from '../../src/worker/reconcile.js';
import { uploadRequests, World } from '../support/world.js';

/**
 * A job's files row is read with its claim. A rescan that renames rows before
 * the job starts (a folder renamed on disk) must still be seen by the job.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('the row read with a claim', () => {
  it('is read again when a rename gave the path a row between the claim and the run', async () => {
    world = await World.create();
    const w = world;
    const abs = w.write('new/a.txt', 'the same bytes');
    const st = statSync(abs);
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const rt = openRuntime(config, { logger: silentLogger });
    try {
      const { state, clock } = rt;
      // What an earlier sync left: the file synced under its old folder's path.
      state.files.recordSynced({
        mapping: 'share',
        path: 'old/a.txt',
        size: st.size,
        mtimeMs: st.mtimeMs,
        sha256: createHash('sha256').update('the same bytes').digest('hex'),
        assetId: '3f0c2d6e-8a44-4c5e-9d21-5b0f8e7a1c39',
        parentId: null,
        version: 1,
        syncedAt: 1,
        missingSince: null,
      });
      state.jobs.enqueueMany([{ mapping: 'share', path: 'new/a.txt', reason: 'add', delayMs: 0 }]);
      const ahead = new ClaimAhead({ jobs: state.jobs, files: state.files, clock }, { token: 'w', concurrency: 1, maxAhead: 1 });
      const [job] = ahead.claim(1, []);
      expect(job!.row).toBeNull();
      // The rescan finds the folder renamed and moves its rows before the job starts.
      state.files.renamePrefix('share', 'old', 'new');
      const outcome = await reconcile(job!, immediate(rt.ctx));
      expect(outcome.action).toBe('none');
      expect(uploadRequests(w)).toBe(0);
      expect(state.files.get('share', 'new/a.txt')?.assetId).toBe('3f0c2d6e-8a44-4c5e-9d21-5b0f8e7a1c39');
    } finally {
      await rt.close();
    }
  });

  it('is read again when a rename gave the path a row while the job ran', async () => {
    world = await World.create();
    const w = world;
    const abs = w.write('new/a.txt', 'the same bytes');
    const st = statSync(abs);
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const rt = openRuntime(config, { logger: silentLogger });
    try {
      const { state, clock } = rt;
      state.files.recordSynced({
        mapping: 'share',
        path: 'old/a.txt',
        size: st.size,
        mtimeMs: st.mtimeMs,
        sha256: createHash('sha256').update('the same bytes').digest('hex'),
        assetId: '3f0c2d6e-8a44-4c5e-9d21-5b0f8e7a1c39',
        parentId: null,
        version: 1,
        syncedAt: 1,
        missingSince: null,
      });
      state.jobs.enqueueMany([{ mapping: 'share', path: 'new/a.txt', reason: 'add', delayMs: 0 }]);
      const ahead = new ClaimAhead({ jobs: state.jobs, files: state.files, clock }, { token: 'w', concurrency: 1, maxAhead: 1 });
      const [job] = ahead.claim(1, []);
      // The rescan renames the rows while the job waits for its asset folder (after its hash).
      const resolver = rt.ctx.resolver;
      let renamed = false;
      const ctx = immediate({
        ...rt.ctx,
        resolver: Object.assign(Object.create(resolver) as typeof resolver, {
          resolve: (dir: string) => {
            if (!renamed) renamed = state.files.renamePrefix('share', 'old', 'new') > 0;
            return resolver.resolve(dir);
          },
        }),
      });
      const outcome = await reconcile(job!, ctx);
      expect(renamed).toBe(true);
      expect(outcome).toMatchObject({ action: 'none', detail: 'moved with its folder' });
      expect(uploadRequests(w)).toBe(0);
    } finally {
      await rt.close();
    }
  });
});
