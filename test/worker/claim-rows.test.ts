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

const ASSET = '3f0c2d6e-8a44-4c5e-9d21-5b0f8e7a1c39';

/** What an earlier sync left (the file synced under its old folder's path), and the new path's job claimed. */
async function claimedUnderNewPath() {
  world = await World.create();
  const w = world;
  const st = statSync(w.write('new/a.txt', 'the same bytes'));
  const rt = openRuntime(loadConfig(w.configPath, w.env(), { missingLocal: 'allow' }), { logger: silentLogger });
  const { state, clock } = rt;
  state.files.recordSynced({
    mapping: 'share',
    path: 'old/a.txt',
    size: st.size,
    mtimeMs: st.mtimeMs,
    sha256: createHash('sha256').update('the same bytes').digest('hex'),
    assetId: ASSET,
    parentId: null,
    version: 1,
    syncedAt: 1,
    missingSince: null,
  });
  state.jobs.enqueueMany([{ mapping: 'share', path: 'new/a.txt', reason: 'add', delayMs: 0 }]);
  const ahead = new ClaimAhead({ jobs: state.jobs, files: state.files, clock }, { token: 'w', concurrency: 1, maxAhead: 1 });
  const [job] = ahead.claim(1, []);
  return { w, rt, job: job! };
}

describe('the row read with a claim', () => {
  it('is read again when a rename gave the path a row between the claim and the run', async () => {
    const { w, rt, job } = await claimedUnderNewPath();
    try {
      expect(job.row).toBeNull();
      // The rescan finds the folder renamed and moves its rows before the job starts.
      rt.state.files.renamePrefix('share', 'old', 'new');
      const outcome = await reconcile(job, immediate(rt.ctx));
      expect(outcome.action).toBe('none');
      expect(uploadRequests(w)).toBe(0);
      expect(rt.state.files.get('share', 'new/a.txt')?.assetId).toBe(ASSET);
    } finally {
      await rt.close();
    }
  });

  it('is read again when a rename gave the path a row while the job ran', async () => {
    const { w, rt, job } = await claimedUnderNewPath();
    try {
      // The rescan renames the rows while the job waits for its asset folder (after its hash).
      const resolver = rt.ctx.resolver;
      let renamed = false;
      const ctx = immediate({
        ...rt.ctx,
        resolver: Object.assign(Object.create(resolver) as typeof resolver, {
          resolve: (dir: string) => {
            if (!renamed) renamed = rt.state.files.renamePrefix('share', 'old', 'new') > 0;
            return resolver.resolve(dir);
          },
        }),
      });
      const outcome = await reconcile(job, ctx);
      expect(renamed).toBe(true);
      expect(outcome).toMatchObject({ action: 'none', detail: 'moved with its folder' });
      expect(uploadRequests(w)).toBe(0);
    } finally {
      await rt.close();
    }
  });
});
