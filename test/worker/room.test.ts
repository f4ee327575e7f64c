import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { openRuntime } from '../../src/cli/runtime.js';
import { silentLogger } from '../../src/lib/log.js';
import { liveAssetsByPath, World } from '../support/world.js';

/**
 * A first sync reads each small file into memory outside V8's heap; that
 * memory growing by tens of kilobytes a file is what makes V8 run full
 * collections on loopback. A job whose upload was taken gives its memory back
 * for the next file.
 */
let world: World | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await world?.close();
  world = undefined;
});

const FILES = 60;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('small files’ memory in a first sync', () => {
  it('is read into again by later files, not made anew for each', async () => {
    world = await World.create();
    const w = world;
    for (let i = 0; i < FILES; i++) w.write(`d${i % 3}/f${i}.bin`, `file ${i} `.repeat(500 + i));
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const rt = openRuntime(config, { logger: silentLogger });
    const made = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      rt.state.jobs.enqueueMany(
        Array.from({ length: FILES }, (_, i) => ({ mapping: 'share', path: `d${i % 3}/f${i}.bin`, reason: 'add', delayMs: 0 })),
      );
      rt.pool.start();
      await rt.pool.idle();
      await rt.pool.stop(5000);
    } finally {
      await rt.close();
    }
    const assets = liveAssetsByPath(w.inspect());
    expect(assets.size).toBe(FILES);
    // Every byte as on disk, though memory was shared by turns.
    for (let i = 0; i < FILES; i++) {
      expect(assets.get(`Design/Shared/d${i % 3}/f${i}.bin`)?.sha256).toBe(sha(`file ${i} `.repeat(500 + i)));
    }
    // At most a few per worker slot (sizes fall in two classes), far fewer than one per file.
    expect(made.mock.calls.length).toBeLessThan(FILES / 2);
  });
});
