import { afterEach, expect, it } from 'vitest';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openState } from '../../src/state/index.js';
import { takeCleanMark } from '../../src/state/clean.js';
import { rig, type Rig } from '../support/regressions.js';

let r: Rig | undefined;
afterEach(async () => {
  await r?.cleanup();
  r = undefined;
});

it('a page damaged while the daemon ran is still found by quick_check at the next start', async () => {
  r = await rig();
  const st = r.rt.state;
  st.files.batch(() => {
    for (let i = 0; i < 2000; i++) st.files.reserve('m', `some/longer/path/number/${i}.png`, `asset-${i}`);
  });
  st.db.pragma('wal_checkpoint(TRUNCATE)');
  const file = join(r.dir, 'state', 'state.db');
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * 3); // a bad sector, a stray writer…
  closeSync(fd);
  await r.rt.close(); // daemon stops normally
  let err: unknown;
  try {
    openState(file, { verify: !takeCleanMark(file) }).close(); // next start, as openRuntime does it
  } catch (e) {
    err = e;
  }
  expect((err as { code?: string } | undefined)?.code).toBe('STATE_CORRUPT');
});
