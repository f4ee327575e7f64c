import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime, pauseKey, type Runtime } from '../../src/cli/runtime.js';
import { FoldersAhead } from '../../src/worker/ahead.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { liveAssetsByPath, uploadRequests, waitFor, World } from '../support/world.js';

/**
 * Issue 21, "fewer round trips on the critical path": the asset folders of the
 * files a rescan queues are made in the background as soon as the rescan knows
 * them, not when the first file of each reaches a worker. Against the test
 * server, with a real state database and real files.
 */
let world: World | undefined;
let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
  await world?.close();
  world = undefined;
});

const FOLDERS = 12;

/** Live folder paths on the server ("Design/Shared/a0/deep"), each as often as it exists. */
function folderPaths(w: World): string[] {
  const ins = w.inspect();
  const live = new Map(ins.folders.filter((f) => !f.deleted).map((f) => [f.id, f]));
  const pathOf = (id: string): string => {
    const parts: string[] = [];
    for (let f = live.get(id); f; f = live.get(f.parentId)) parts.unshift(f.folderName);
    return parts.join('/');
  };
  return [...live.keys()].map(pathOf).sort();
}

function tree(w: World): string[] {
  const want = ['Design', 'Design/Shared'];
  for (let i = 0; i < FOLDERS; i++) {
    w.write(`a${i}/deep/f.txt`, `file ${i}`);
    want.push(`Design/Shared/a${i}`, `Design/Shared/a${i}/deep`);
  }
  // Only ignored files: no folder for it.
  w.write('skipped/x.tmp', 'ignored');
  return want.sort();
}

function runtime(w: World): Runtime {
  rt = openRuntime(loadConfig(w.configPath, w.env(), { missingLocal: 'allow' }), { logger: silentLogger });
  return rt;
}

describe('asset folders made ahead of the uploads', () => {
  it('a rescan of new folders makes them on the server before any upload reaches them (no worker running)', async () => {
    world = await World.create({ mapping: { ignore: ['*.tmp'] } });
    const w = world;
    const want = tree(w);
    const r = runtime(w);
    const found = await r.rescan(r.config.mappings[0]);
    expect(found.changed).toBe(FOLDERS);
    // The pool was never started: only the rescan can have made them.
    await waitFor(
      () => folderPaths(w).length >= want.length,
      10_000,
      () => `folders on the server: ${folderPaths(w).join(', ')}`,
    );
    await r.ahead.idle();
    expect(folderPaths(w)).toEqual(want);
    expect(uploadRequests(w)).toBe(0);
    expect(r.state.jobs.counts().queued).toBe(FOLDERS);
  });

  it('makes each folder once while the workers ask for the same folders at the same time', async () => {
    world = await World.create({ server: { faults: { latencyMs: 20 } } });
    const w = world;
    const want = tree(w);
    const r = runtime(w);
    r.pool.start();
    await r.rescan(r.config.mappings[0]);
    await r.pool.idle();
    await r.pool.stop(5000);
    await r.ahead.idle();
    expect(folderPaths(w)).toEqual(want); // no name twice
    expect(w.inspect().counters.byRoute['POST /assets/folders']).toBe(want.length);
    expect(liveAssetsByPath(w.inspect()).size).toBe(FOLDERS);
  });

  it('makes none for a paused mapping', async () => {
    world = await World.create();
    const w = world;
    tree(w);
    const r = runtime(w);
    r.state.meta.set(pauseKey('share'), '1');
    await r.rescan(r.config.mappings[0]);
    await r.ahead.idle();
    expect(folderPaths(w)).toEqual([]);
  });

  it('makes none in a dry run', async () => {
    world = await World.create();
    const w = world;
    tree(w);
    const dry = await w.run(['once', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(folderPaths(w)).toEqual([]);
    expect(w.inspect().counters.byRoute['POST /assets/folders'] ?? 0).toBe(0);
  });
});

describe('FoldersAhead', () => {
  /** A resolver whose answers the test releases: how many are asked at once is then exact. */
  function heldResolver() {
    const asked: string[] = [];
    const open: Array<() => void> = [];
    let most = 0;
    return {
      asked,
      most: () => most,
      release: () => {
        for (const f of open.splice(0)) f();
      },
      resolve: (dir: string) => {
        asked.push(dir);
        most = Math.max(most, open.length + 1);
        return new Promise<string>((r) => open.push(() => r(`id-${dir}`)));
      },
    };
  }
  const mapping = { name: 'm', remote: 'R', local: '/x' } as Parameters<FoldersAhead['add']>[0];

  it('asks for each folder once, at most inFlight() at a time, in the order given', async () => {
    const resolver = heldResolver();
    const ahead = new FoldersAhead(resolver, { inFlight: () => 2 });
    ahead.add(mapping, ['b/1.txt', 'a/1.txt', 'b/2.txt', 'c/d/1.txt', 'top.txt']);
    const done = ahead.idle();
    for (let i = 0; i < 10 && resolver.asked.length < 4; i++) {
      resolver.release();
      await new Promise((r) => setImmediate(r));
    }
    resolver.release();
    await done;
    expect(resolver.asked).toEqual(['R/b', 'R/a', 'R/c/d', 'R']);
    expect(resolver.most()).toBe(2);
  });

  it('starts nothing while Squidex is away or after a stop', async () => {
    const resolver = heldResolver();
    let away = true;
    const ahead = new FoldersAhead(resolver, { inFlight: () => 4, blocked: () => away });
    ahead.add(mapping, ['a/1.txt']);
    await ahead.idle();
    away = false;
    ahead.stop();
    ahead.add(mapping, ['b/1.txt']);
    await ahead.idle();
    expect(resolver.asked).toEqual([]);
  });
});
