/**
 * The walk `once` runs on a thread (src/watch/scan.ts) must list exactly what
 * the sliced walk lists. The thread needs compiled JavaScript, so this test
 * loads the build in dist/ (`npm test` compiles first).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore, walkMapping, type IgnoreOptions, type WalkResult } from '../../src/watch/index.js';
import type { PrefetchedWalks, ScanJob } from '../../src/watch/scan.js';

const dist = path.resolve(import.meta.dirname, '../..', 'dist', 'watch', 'scan.js');
const { prefetchWalks } = (await import(dist)) as { prefetchWalks: (jobs: ScanJob[], opts?: { threadWalksShared?: boolean }) => PrefetchedWalks | null };

let dir: string;
const spec: IgnoreOptions = { ignore: ['drafts/**', '*.bak'], ignoreDefaults: true };
const write = (rel: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};
const sorted = (r: WalkResult) => ({
  entries: [...r.entries].sort(([a], [b]) => (a < b ? -1 : 1)),
  errors: r.errors.map((e) => [e.path, e.code]).sort(),
  skipped: [...r.skipped].sort((a, b) => (a.path < b.path ? -1 : 1)),
  rootMissing: r.rootMissing,
  rootEmpty: r.rootEmpty,
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scan-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('prefetchWalks', () => {
  it.each([true, false])('lists what walkMapping lists (thread walks shared subtrees too: %s)', async (threadWalksShared) => {
    // More folders than the thread hands out (SHARE_UNITS), so both sides walk some.
    for (let a = 0; a < 12; a++) {
      for (let b = 0; b < 12; b++) for (let f = 0; f < 3; f++) write(`a${a}/b${b}/f${f}.png`, 'x'.repeat(a + b + f));
      write(`a${a}/top.txt`);
    }
    write('root.txt', 'r');
    write('drafts/wip.png');
    write('a1/old.bak');
    write('a2/.DS_Store');
    write('a3/.git/config');
    fs.symlinkSync('/', path.join(dir, 'a4', 'rootlink'));
    execFileSync('mkfifo', [path.join(dir, 'a5', 'pipe')]);
    const walks = prefetchWalks([{ root: dir, spec }, { root: path.join(dir, 'a7'), spec }], { threadWalksShared });
    expect(walks).not.toBeNull();
    try {
      const [whole, sub] = [await walks!.take(0), await walks!.take(1)];
      const expected = await walkMapping(dir, compileIgnore(spec, dir));
      expect(whole.entries.size).toBe(12 * 12 * 3 + 12 + 1);
      expect(sorted(whole)).toEqual(sorted(expected));
      expect(sorted(sub)).toEqual(sorted(await walkMapping(path.join(dir, 'a7'), compileIgnore(spec, path.join(dir, 'a7')))));
      expect(whole.skipped.map((s) => s.reason).sort()).toEqual(['fifo', 'symlink']);
    } finally {
      await walks!.close();
    }
  });

  it('reports a missing root and an empty root like walkMapping', async () => {
    fs.mkdirSync(path.join(dir, 'empty/.git'), { recursive: true });
    write('empty/Thumbs.db');
    const walks = prefetchWalks([{ root: path.join(dir, 'nope'), spec }, { root: path.join(dir, 'empty'), spec }])!;
    try {
      const missing = await walks.take(0);
      expect(missing).toMatchObject({ rootMissing: true, rootEmpty: false });
      expect(missing.errors.map((e) => e.code)).toEqual(['ENOENT']);
      expect(await walks.take(1)).toMatchObject({ rootMissing: false, rootEmpty: true, errors: [] });
    } finally {
      await walks.close();
    }
  });

  it('walks on the calling thread when the thread cannot walk (here: an invalid ignore rule)', async () => {
    write('a.png');
    const walks = prefetchWalks([{ root: dir, spec: { ignore: ['!neg'], ignoreDefaults: true } }])!;
    try {
      await expect(walks.take(0)).rejects.toMatchObject({ code: 'IGNORE_INVALID' });
    } finally {
      await walks.close();
    }
  });
});
