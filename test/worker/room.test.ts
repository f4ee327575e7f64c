import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
const FX = join(import.meta.dirname, '../fixtures/metadata');
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('small files’ memory in a first sync', () => {
  it('is read into again by later files, not made anew for each', async () => {
    world = await World.create({ sync: { concurrency: 4 } });
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
    // A few per worker slot and size class, far fewer than one per file.
    expect(made.mock.calls.length).toBeLessThan(FILES / 3);
  });

  it('is read into again after a photo’s metadata was read from it, and every photo keeps its own', async () => {
    world = await World.create({ sync: { concurrency: 4 } });
    const w = world;
    const jpeg = readFileSync(join(FX, 'iptc.jpg'));
    for (let i = 0; i < FILES; i++) {
      if (i % 2 === 0) w.write(`d${i % 3}/p${i}.jpg`, jpeg);
      else w.write(`d${i % 3}/f${i}.bin`, `file ${i} `.repeat(500 + i));
    }
    const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
    const rt = openRuntime(config, { logger: silentLogger });
    const made = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const name = (i: number) => (i % 2 === 0 ? `d${i % 3}/p${i}.jpg` : `d${i % 3}/f${i}.bin`);
    try {
      rt.state.jobs.enqueueMany(Array.from({ length: FILES }, (_, i) => ({ mapping: 'share', path: name(i), reason: 'add', delayMs: 0 })));
      rt.pool.start();
      await rt.pool.idle();
      await rt.pool.stop(5000);
    } finally {
      await rt.close();
    }
    const assets = liveAssetsByPath(w.inspect());
    expect(assets.size).toBe(FILES);
    for (let i = 0; i < FILES; i++) {
      const a = assets.get(`Design/Shared/${name(i)}`);
      if (i % 2 === 1) {
        expect(a?.sha256).toBe(sha(`file ${i} `.repeat(500 + i)));
        continue;
      }
      expect(a?.sha256).toBe(createHash('sha256').update(jpeg).digest('hex'));
      expect(a?.tags).toEqual(['type/jpg', 'summer', 'beach', 'Café terrace']);
      expect(a?.metadata).toMatchObject({ title: 'Summer hero', creator: 'Jane Doe' });
    }
    expect(made.mock.calls.length).toBeLessThan(FILES / 3);
  });
});
