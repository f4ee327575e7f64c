import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

/**
 * What `verify` costs the server (issue 20): a few requests per folder, not
 * one per file. 10,000 files in 20 folders of 500 (and an empty mapping root):
 * at most folders + files ÷ 200 requests, the token included.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('verify on a mapping of 10,000 files', () => {
  it('costs at most (folders + files / 200) requests', async () => {
    // Log warnings only: 10,000 upload lines would slow the first sync down more than anything else.
    world = await World.create({ server: { keepBytes: false }, sync: { concurrency: 16 }, extra: { log: { level: 'warn' } } });
    const w = world;
    const FOLDERS = 20;
    const PER_FOLDER = 500;
    for (let f = 0; f < FOLDERS; f++) for (let i = 0; i < PER_FOLDER; i++) w.write(`set-${f}/file-${i}.txt`, `${f}/${i}`);
    const synced = await w.run(['once'], 240_000);
    expect(synced.code, synced.stderr).toBe(0);
    expect(w.inspect().assets.filter((a) => !a.deleted)).toHaveLength(FOLDERS * PER_FOLDER);

    w.server.resetCounters();
    const res = await w.run(['verify', '--json'], 120_000);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const report = JSON.parse(res.stdout) as { mappings: Array<{ compared: number; differences: number }> };
    expect(report.mappings).toEqual([{ name: 'share', compared: FOLDERS * PER_FOLDER, differences: 0 }]);

    const ins = w.inspect();
    const root = ins.folders.find((f) => f.folderName === 'Shared' && !f.deleted)!;
    const mapped = ins.folders.filter((f) => !f.deleted && (f.id === root.id || f.parentId === root.id)).length;
    expect(mapped).toBe(FOLDERS + 1);
    const budget = mapped + (FOLDERS * PER_FOLDER) / 200;
    expect(ins.counters.requests).toBeLessThanOrEqual(budget);
    // Listing pages only: one tree of folders, then 200 assets a request; nothing by id, nothing written.
    expect(Object.keys(ins.counters.byRoute).sort()).toEqual(['GET /assets', 'GET /assets/folders', 'POST /token']);
  }, 420_000);
});
