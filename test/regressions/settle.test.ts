import { afterEach, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rig, type Rig } from './harness.js';
import { waitFor } from '../support/world.js';

let r: Rig | undefined;
let release: () => void = () => undefined;
afterEach(async () => { release(); await r?.cleanup(); r = undefined; });

// Outcomes are recorded with the pool's next claim. With every worker slot held
// by a long upload and more claimed jobs waiting, that claim can be minutes
// away; a crash meanwhile would upload the finished files again.
it('a finished job is recorded within seconds while long uploads hold every slot', async () => {
  r = await rig({
    sync: { concurrency: 8 },
    setup: (l) => {
      writeFileSync(join(l, 'a-small.txt'), 'small');
      for (let i = 0; i < 20; i++) writeFileSync(join(l, `b${String(i).padStart(2, '0')}.bin`), `long upload ${i}`);
    },
  });
  const rg = r;
  const gate = new Promise<void>((res) => (release = res));
  const client = rg.rt.client as unknown as { upsertAsset: (id: string, parentId: string, src: { fileName: string }, ...rest: unknown[]) => Promise<unknown> };
  const real = client.upsertAsset.bind(client);
  client.upsertAsset = async (id, parentId, src, ...rest) => {
    if (src.fileName.startsWith('b')) await gate; // a 1 GB video on a slow line
    return real(id, parentId, src, ...rest);
  };
  await rg.rt.rescan(rg.rt.config.mappings[0]);
  rg.rt.pool.start();
  await waitFor(() => rg.server.inspect().assets.some((a) => a.fileName === 'a-small.txt'), 10_000);
  await waitFor(() => rg.rt.state.files.get('m', 'a-small.txt')?.sha256, 10_000, () => 'a-small.txt is on the server but not recorded');
  expect(rg.server.inspect().assets).toHaveLength(1); // every slot is still held
  release();
  await rg.rt.pool.idle();
  await rg.rt.pool.stop(1000);
  expect(rg.rt.state.files.count('m')).toBe(21);
  expect(rg.server.inspect().assets).toHaveLength(21);
});
