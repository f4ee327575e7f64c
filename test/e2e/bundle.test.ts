import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, ROOT, World } from '../support/world.js';

/**
 * The CLI as built (npm run build, npm test) is one file for the main thread
 * and one for the walk thread (scripts/bundle.mjs): Node 20 has no compile
 * cache for ES modules, and reading tsc's ~170 modules one by one was most of
 * a command's start. A hook on the module loader lists what a run loads.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

// Runs in the loader's own thread; its lines reach the child's stderr.
const HOOK = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`export async function load(url, context, next) {
  if (url.startsWith('file:')) process.stderr.write('module loaded: ' + url + '\\\\n');
  return next(url, context);
}\`));
`;

describe('the built CLI', () => {
  it('loads our code from two files: the bundle and the walk thread', { timeout: 30_000 }, async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < 4; i++) w.write(`a/b/f${i}.txt`, `file ${i}`);
    const hook = join(w.dir, 'hook.mjs');
    writeFileSync(hook, HOOK);
    const env = w.env();
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(hook).href}`.trim();
    const res = await w.run(['once'], 30_000, env);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    expect(liveAssetsByPath(w.inspect()).size).toBe(4);
    const dist = join(ROOT, 'dist');
    const ours = [...res.stderr.matchAll(/^module loaded: (\S+)$/gm)]
      .map((m) => fileURLToPath(m[1]!))
      .filter((f) => !relative(dist, f).startsWith('..'))
      .map((f) => relative(dist, f));
    expect(new Set(ours), 'dist/cli/main.js is not the bundle: run npm run build').toEqual(new Set(['cli/main.js', 'watch/walkworker.js']));
  });
});
