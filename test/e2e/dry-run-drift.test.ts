import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

// The dry run asks the same decide() as the run: a gone file whose last upload never finished
// (a row without a hash) is forgotten, its asset kept, under deletes: delete too.
it('the dry run says what the run then does for a gone file whose upload never finished', { timeout: 60_000 }, async () => {
  world = await World.create({ mapping: { deletes: 'delete' }, sync: { moveWindowMs: 0 } });
  const w = world;
  for (const name of ['a.txt', 'b.txt', 'c.txt']) w.write(name, name);
  expect((await w.run(['once'])).code).toBe(0);
  const db = new Database(w.statePath);
  try {
    db.prepare(`UPDATE files SET sha256 = NULL WHERE path = 'a.txt'`).run();
  } finally {
    db.close();
  }
  rmSync(join(w.local, 'a.txt'));

  const dry = await w.run(['once', '--dry-run']);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stdout).toMatch(/forget\s+share: a\.txt/);
  expect(dry.stdout).not.toMatch(/delete\s+share: a\.txt/);

  expect((await w.run(['once'])).code).toBe(0);
  const a = w.inspect().assets.find((x) => x.fileName === 'a.txt');
  expect(a?.deleted).toBe(false);
  expect(w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0).toBe(0);
});
