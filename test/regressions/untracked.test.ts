import { afterEach, expect, it } from 'vitest';
import { rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { SyncError } from '../../src/lib/errors.js';
import { rig, type Rig } from '../support/regressions.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.cleanup();
  r = undefined;
});

/** The upsert reaches the server, then the answer is lost (reset/timeout); meanwhile the user acts on the file. */
function loseFirstAnswer(rg: Rig, userAction: () => void): void {
  const client = rg.rt.client as unknown as { upsertAsset: (...a: unknown[]) => Promise<unknown> };
  const real = client.upsertAsset.bind(client);
  let n = 0;
  client.upsertAsset = async (...a: unknown[]) => {
    const res = await real(...a);
    if (n++ === 0) {
      userAction();
      throw new SyncError('NETWORK', 'socket hang up (answer lost)', { retry: 'retry' });
    }
    return res;
  };
}

/** Runs the mapping once; returns the live assets on the server that the state knows nothing of. */
async function untrackedAfterRun(rg: Rig): Promise<string[]> {
  await rg.rt.rescan(rg.rt.config.mappings[0]);
  rg.rt.pool.start();
  await rg.rt.pool.idle();
  await rg.rt.pool.stop(1000);
  const st = rg.rt.state;
  const tracked = new Set([...st.files.list('m').map((f) => f.assetId), ...st.files.kept().map((k) => k.assetId)]);
  return rg.server
    .inspect()
    .assets.filter((a) => !a.deleted && !tracked.has(a.id))
    .map((a) => `${a.fileName} (${a.id})`);
}

for (const deletes of ['keep', 'delete'] as const) {
  it(`deletes: ${deletes} — an asset whose upload answer was lost, file then deleted: still tracked (files or kept)`, async () => {
    r = await rig({ mapping: { deletes }, sync: { moveWindowMs: 0 }, setup: (l) => writeFileSync(join(l, 'a.txt'), 'hello') });
    loseFirstAnswer(r, () => rmSync(join(r!.local, 'a.txt')));
    // Every live asset on the server must be known to the state (or deleted under deletes: delete).
    expect(await untrackedAfterRun(r)).toEqual([]);
  });
}

it('answer lost, file renamed meanwhile: every live asset is tracked', async () => {
  r = await rig({ sync: { moveWindowMs: 0 }, setup: (l) => writeFileSync(join(l, 'a.txt'), 'hello') });
  loseFirstAnswer(r, () => {
    renameSync(join(r!.local, 'a.txt'), join(r!.local, 'b.txt'));
    r!.rt.state.jobs.enqueue('m', 'b.txt');
  });
  expect(await untrackedAfterRun(r)).toEqual([]);
});
