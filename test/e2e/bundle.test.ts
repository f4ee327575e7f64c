import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadedModules } from '../support/loaded.js';
import { liveAssetsByPath, ROOT, World } from '../support/world.js';

/**
 * The CLI as built (npm run build, npm test) is a bundle for the main thread,
 * in chunks (dist/cli/main.js and chunk-*.js), and one file for the walk thread
 * (scripts/bundle.mjs): Node 20 has no compile cache for ES modules, and
 * reading tsc's ~170 modules one by one was most of a command's start.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('the built CLI', () => {
  it('loads our code from the bundle and the walk thread only', { timeout: 30_000 }, async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 4; i++) w.write(`a/b/f${i}.txt`, `file ${i}`);
    const loaded = new LoadedModules(w.dir);
    const res = await w.run(['once'], 30_000, loaded.env(w.env()));
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(liveAssetsByPath(w.inspect()).size).toBe(4);
    const ours = loaded.esModulesUnder(join(ROOT, 'dist'));
    expect(ours).toContain('cli/main.js');
    expect(ours).toContain('watch/walkworker.js');
    const unbundled = ours.filter((f) => !/^cli\/(main|chunk-\w+)\.js$|^watch\/walkworker\.js$/.test(f));
    expect(unbundled, 'dist/cli/main.js is not the bundle: run npm run build').toEqual([]);
  });
});
