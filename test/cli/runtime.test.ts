import { afterEach, describe, expect, it } from 'vitest';
import { clientFor, openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { ROOT_FOLDER_ID, type SquidexClient } from '../../src/squidex/index.js';
import { workersFor } from '../../src/squidex/limiter.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

/**
 * Issue 21, row a: a pinned `sync.concurrency` is that many uploads on the
 * wire. The folders made ahead (a quarter of it) and a stamp bulk or the token
 * go beside them, so the client must hold all of them on the wire at once:
 * with a connection per upload plus one, an upload waited for a connection
 * whenever two folders were being made (half of a first sync's folder phase
 * at 8, measured). The pool runs a few more jobs than uploads, so that the
 * uploads stay full while a job reads, hashes and records its file.
 */
let world: World | undefined;
let client: SquidexClient | undefined;
let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.pool.stop(1000);
  await rt?.close();
  rt = undefined;
  await client?.close();
  client = undefined;
  await world?.close();
  world = undefined;
});

describe('connections of a pinned concurrency', () => {
  it('at 8, the client has 8 requests of the workers, 2 folders ahead and one more on the wire at once', async () => {
    let held = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    world = await World.create({
      sync: { concurrency: 8 },
      server: {
        // Every request but the token waits at the server until the test lets them go.
        onRequest: async (_method, path) => {
          if (path.includes('/connect/token')) return;
          held++;
          await gate;
        },
      },
    });
    const config = loadConfig(world.configPath, world.env(), { missingLocal: 'allow' });
    const c = clientFor(config, silentLogger);
    client = c;
    await c.token();
    const asked = Array.from({ length: 12 }, () => c.listFolders(ROOT_FOLDER_ID));
    try {
      // The twelfth has no connection: it waits in the client, not at the server.
      await waitFor(
        () => held >= 11,
        5000,
        () => `the server holds ${held} requests`,
      );
      expect(held).toBe(11);
    } finally {
      release();
      await Promise.all(asked);
    }
    expect(held).toBe(12);
  });
});

/** An upsert (POST …/assets/{id}): the request that carries a new file's bytes. */
const UPSERT = /\/assets\/(?!folders$|bulk$)[^/]+$/;

describe('a pinned number is the uploads on the wire at once', () => {
  it('at 4 the pool runs more jobs than 4: while the server holds 4 uploads, the next job waits ready at the gate, unsent', async () => {
    let held = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    world = await World.create({
      sync: { concurrency: 4 },
      server: {
        // Every upload waits at the server until the test lets them go; folders, stamps and the token do not.
        onRequest: async (method, path) => {
          if (method !== 'POST' || !UPSERT.test(path)) return;
          held++;
          await gate;
        },
      },
    });
    const w = world;
    const files = 20;
    for (let i = 0; i < files; i++) w.write(`d${i % 2}/f${i}.txt`, `file ${i}`);
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const r = openRuntime(config, { logger: silentLogger });
    rt = r;
    try {
      await r.rescan(config.mappings[0]);
      r.pool.start();
      // Four uploads at the server, and the pool's extra job (workersFor: 5 at 4) read and waiting to send.
      await waitFor(
        () => held >= 4 && (r.uploads?.waiting ?? 0) >= workersFor(4) - 4,
        10_000,
        () => `the server holds ${held} uploads, ${r.uploads?.waiting} wait at the gate`,
      );
      expect(held).toBe(4);
      expect(r.uploads!.inFlight).toBe(4);
      expect(r.uploads!.waiting).toBe(workersFor(4) - 4);
    } finally {
      release();
    }
    await r.pool.idle();
    expect(liveAssetsByPath(w.inspect()).size).toBe(files);
    // Never more than 4 uploads at the server, and 4 at once when the jobs had files for them.
    expect(w.inspect().counters.maxUploadsInFlight).toBe(4);
  });
});

describe('a rescan wakes the pool', () => {
  it('at each batch it queues, so a pool already running takes the first files before the rest of the tree is compared', async () => {
    world = await World.create();
    for (let i = 0; i < 100; i++) world.write(`d${i % 4}/f${i}.txt`, `file ${i}`);
    const config = loadConfig(world.configPath, world.env(), { missingLocal: 'allow' });
    const r = openRuntime(config, { logger: silentLogger });
    rt = r;
    const queuedAtWake: number[] = [];
    const wake = r.pool.wake.bind(r.pool);
    r.pool.wake = () => {
      queuedAtWake.push(r.state.jobs.counts().queued);
      wake();
    };
    await r.rescan(config.mappings[0]);
    // The first batch (32 files) woke it; the old rescan woke it once, at its end, with all 100 queued.
    expect(queuedAtWake[0]).toBeLessThan(100);
    expect(queuedAtWake.at(-1)).toBe(100);
  });
});
