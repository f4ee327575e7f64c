import { loadConfig } from '../../src/config/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { openRuntime } from '../../src/cli/runtime.js';
import { silentLogger } from '../../src/lib/log.js';
import { counted, countStatements } from '../support/statements.js';
import { liveAssetsByPath, World } from '../support/world.js';

/**
 * A first sync on loopback is bound by the client's CPU, and every SQLite
 * statement costs it some (outside a transaction also a WAL read lock). These
 * hold the statements a new file costs to the ones it needs.
 */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const FILES = 40;

async function firstSync(w: World): Promise<Map<string, number>> {
  for (let i = 0; i < FILES; i++) w.write(`d${i % 4}/f${i}.txt`, `file ${i}`);
  const config = loadConfig(w.configPath, w.env(), { missingLocal: 'allow' });
  const rt = openRuntime(config, { logger: silentLogger });
  try {
    return await countStatements(async () => {
      rt.state.jobs.enqueueMany(
        Array.from({ length: FILES }, (_, i) => ({ mapping: 'share', path: `d${i % 4}/f${i}.txt`, reason: 'add', delayMs: 0 })),
      );
      rt.pool.start();
      await rt.pool.idle();
      await rt.pool.stop(5000);
    });
  } finally {
    await rt.close();
  }
}

describe('SQLite statements of a first sync', () => {
  it('records each new file without a savepoint, per write or per job', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    expect(liveAssetsByPath(world.inspect()).size).toBe(FILES);
    // A job's writes get a savepoint only when a constraint refused one of the batch (settle.ts).
    expect(counted(counts, 'SAVEPOINT')).toBe(0);
    expect(counted(counts, 'RELEASE')).toBe(0);
  });

  it('gives each new file its asset id in the claim’s own statement', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    const ids = [...liveAssetsByPath(world.inspect()).values()].map((a) => a.id);
    expect(new Set(ids).size).toBe(FILES);
    expect(counted(counts, 'UPDATE jobs SET asset_hint')).toBe(0);
  });

  it('reads the claimed paths’ rows with each claim, and none again when no row moved meanwhile', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    expect(liveAssetsByPath(world.inspect()).size).toBe(FILES);
    const rows =
      'SELECT mapping, path, size, mtime_ms, sha256, asset_id, parent_id, version, synced_at, missing_since FROM files WHERE mapping = ? AND path';
    expect(counted(counts, `${rows} = ?`)).toBe(0);
    // One per claim that found jobs.
    expect(counted(counts, `${rows} IN`)).toBeGreaterThan(0);
    expect(counted(counts, `${rows} IN`)).toBeLessThanOrEqual(counted(counts, "UPDATE jobs SET state = 'running'"));
  });

  it('deletes the stamps of one bulk request with one statement', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    const assets = [...liveAssetsByPath(world.inspect()).values()];
    expect(assets.filter((a) => a.metadata?.squidexSyncSha256).length).toBe(FILES);
    expect(counted(counts, 'DELETE FROM stamps')).toBeLessThan(FILES / 4);
  });

  it('leaves out the DELETEs of tables that are empty throughout the batch', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    expect(liveAssetsByPath(world.inspect()).size).toBe(FILES);
    for (const table of ['skipped', 'kept', 'drift', 'file_versions']) expect(counted(counts, `DELETE FROM ${table} `)).toBe(0);
  });

  it('looks for no unfinished big upload of a small file while there is none', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    expect(liveAssetsByPath(world.inspect()).size).toBe(FILES);
    expect(counted(counts, 'SELECT mapping, path, asset_id AS assetId, server, url')).toBe(0);
  });

  it('looks for a move source only when a synced row may have the new file’s hash', async () => {
    world = await World.create();
    const counts = await firstSync(world);
    expect(liveAssetsByPath(world.inspect()).size).toBe(FILES);
    // Forty different contents: no synced row has any of their hashes.
    const bySha = [...counts.keys()].filter((sql) => sql.includes('INDEXED BY files_sha'));
    expect(bySha.reduce((n, sql) => n + counts.get(sql)!, 0)).toBe(0);
  });
});
