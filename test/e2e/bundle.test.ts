import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadedModules } from '../support/loaded.js';
import { liveAssetsByPath, ROOT, World } from '../support/world.js';

/**
 * The CLI as built (npm run build, npm test) is one file for the main thread
 * and one for the walk thread (scripts/bundle.mjs): Node 20 has no compile
 * cache for ES modules, and reading tsc's ~170 modules one by one was most of
 * a command's start.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('the built CLI', () => {
  it('loads our code from two files: the bundle and the walk thread', { timeout: 30_000 }, async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 4; i++) w.write(`a/b/f${i}.txt`, `file ${i}`);
    const loaded = new LoadedModules(w.dir);
    const res = await w.run(['once'], 30_000, loaded.env(w.env()));
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(liveAssetsByPath(w.inspect()).size).toBe(4);
    expect(new Set(loaded.esModulesUnder(join(ROOT, 'dist'))), 'dist/cli/main.js is not the bundle: run npm run build').toEqual(
      new Set(['cli/main.js', 'watch/walkworker.js']),
    );
  });
});
