import { afterEach, describe, expect, it } from 'vitest';
import { LoadedModules } from '../support/loaded.js';
import { World } from '../support/world.js';

// Each module loaded at start is main-thread time before the first request
// (issue 21's loopback row: a fifth of a first sync of 5,000 files went by
// before the first upload). These are the ones neither command needs there.
// cli-progress and fast-xml-parser are inside the bundle (scripts/bundle.mjs),
// which never loads them from node_modules: for them this holds only against
// tsc's unbundled build; in the bundle they stay behind their dynamic imports.
const NOT_AT_START = [
  'undici/index.js', // fetch, WebSocket, caches, mocks: the client takes its Agent alone
  'pino-pretty/index.js', // only on a terminal
  'cli-progress/cli-progress.js', // only on a terminal
  'exifr/', // only with embedded metadata on, at the first file that needs it
  'fast-xml-parser/',
];

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const unneeded = (files: string[]): string[] => files.filter((f) => NOT_AT_START.some((n) => f.startsWith(n)));

describe('modules loaded at start', () => {
  it('once uploads a tree without loading what it does not use', async () => {
    world = await World.create();
    const w = world;
    w.write('a/b/c/one.txt', 'one');
    w.write('two.txt', 'two');
    const loaded = new LoadedModules(w.dir);
    const r = await w.run(['once'], 60_000, loaded.env(w.env()));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(w.inspect().counters.byRoute['POST /assets/{id}']).toBe(2);
    const files = loaded.packageFiles();
    expect(files).toContain('undici/lib/dispatcher/agent.js'); // the check below sees what was loaded
    expect(unneeded(files)).toEqual([]);
  });

  it('start runs without undici index, and stops', async () => {
    world = await World.create();
    const w = world;
    w.write('one.txt', 'one');
    const loaded = new LoadedModules(w.dir);
    const d = w.startDaemon(loaded.env(w.env()));
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    expect(await d.stop()).toBe(0);
    const files = loaded.packageFiles();
    expect(files).toContain('undici/lib/dispatcher/agent.js');
    expect(files.filter((f) => f === 'undici/index.js')).toEqual([]);
  });
});
