import { afterEach, describe, expect, it } from 'vitest';
import { clientFor } from '../../src/cli/runtime.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { ROOT_FOLDER_ID, type SquidexClient } from '../../src/squidex/index.js';
import { waitFor, World } from '../support/world.js';

/**
 * Issue 21, row a: a pinned `sync.concurrency` is that many workers. The folders
 * made ahead (a quarter of it) and a stamp bulk or the token go beside them, so
 * the client must hold all of them on the wire at once: with a connection per
 * worker plus one, an upload waited for a connection whenever two folders were
 * being made (half of a first sync's folder phase at 8, measured).
 */
let world: World | undefined;
let client: SquidexClient | undefined;
afterEach(async () => {
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
