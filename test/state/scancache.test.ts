import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scanCache, scanned } from '../../src/state/index.js';
import { requireDist, tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

const ROOT = join(import.meta.dirname, '../..');
const cacheKib = (db: { pragma(s: string, o: { simple: true }): unknown }): number => -Number(db.pragma('cache_size', { simple: true }));

describe('scanCache', () => {
  it('bounds the page cache while scans overlap, and gives it back when the last one ends', () => {
    const { state } = t.fresh();
    const full = cacheKib(state.db);
    const a = scanCache(state.db);
    expect(cacheKib(state.db)).toBeLessThan(full);
    const b = scanCache(state.db);
    a();
    a(); // twice is once
    expect(cacheKib(state.db)).toBeLessThan(full);
    b();
    expect(cacheKib(state.db)).toBe(full);
    expect(scanned(state.db, () => cacheKib(state.db))).toBeLessThan(full);
    expect(cacheKib(state.db)).toBe(full);
  });

  it('an undo after the state closed does nothing, nor does a scan begun on a closed state', () => {
    const { state } = t.fresh();
    const undo = scanCache(state.db);
    state.close();
    expect(() => undo()).not.toThrow();
    expect(() => scanCache(state.db)()).not.toThrow();
  });
});

// What the process keeps after reading a whole state: measured in a child of its own (RSS is per process).
const PROBE = `
import { readFileSync } from 'node:fs';
const { openState, scanned } = await import(process.argv[1]);
const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
const before = rss();
const s = openState(process.argv[2], { verify: true });
const opened = rss();
scanned(s.db, () => s.files.stats());
const counted = rss();
s.close();
console.log(JSON.stringify({ open: opened - before, counts: counted - opened }));
`;

describe.runIf(process.platform === 'linux')('reading a whole state', () => {
  beforeAll(() => requireDist());

  it('quick_check at open and the per-mapping counts leave the page cache nearly empty', () => {
    const dir = t.dir();
    const file = join(dir, 'state.db');
    const s = t.open(file);
    const pad = 'p'.repeat(180);
    s.db.transaction(() => {
      for (let i = 0; i < 60_000; i++)
        s.files.recordSynced({
          mapping: 'm',
          path: `${pad}/${i}.bin`,
          size: i,
          mtimeMs: i,
          sha256: 'a'.repeat(64),
          assetId: `asset-${i}`,
          parentId: '00000000-0000-0000-0000-000000000000',
          version: 0,
          syncedAt: 1,
          missingSince: null,
        });
    })();
    s.db.pragma('wal_checkpoint(TRUNCATE)');
    s.close();
    const mb = statSync(file).size / 2 ** 20;
    expect(mb).toBeGreaterThan(24); // bigger than the bound by far, smaller than the full cache (32 MiB)
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE, join(ROOT, 'dist', 'state', 'index.js'), file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const grew = JSON.parse(out) as { open: number; counts: number };
    // With the full cache, each of them kept about the whole file.
    expect(grew.open).toBeLessThan(mb / 3);
    expect(grew.counts).toBeLessThan(mb / 3);
  });
});
