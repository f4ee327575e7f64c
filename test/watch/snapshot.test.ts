/**
 * Poll mode keeps the last walk between passes for as long as the daemon runs:
 * packed (src/watch/snapshot.ts), not a Map of the tree, and compared with the
 * next walk in order. Real files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore } from '../../src/watch/index.js';
import { PollWatcher, type PollSink } from '../../src/watch/pollwatch.js';
import { SnapshotBuilder } from '../../src/watch/snapshot.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshot-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (rel: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};

describe('Snapshot', () => {
  it('gives back every path and stat in order, across its strings', () => {
    const b = new SnapshotBuilder();
    const paths = Array.from({ length: 10_000 }, (_, i) => `d${i % 3}/é${i}/${'x'.repeat(i % 40)}`);
    for (const [i, p] of paths.entries()) b.add(p, i, i + 0.5);
    const s = b.finish();
    expect(s.length).toBe(10_000);
    for (const [i, p] of paths.entries()) {
      expect(s.path(i)).toBe(p);
      expect([s.sizes[i], s.mtimes[i]]).toEqual([i, i + 0.5]);
    }
  });
});

describe('PollWatcher', () => {
  it('keeps its walk packed, and reports what changed between two walks', async () => {
    for (let i = 0; i < 5000; i++) write(`d${i % 10}/f${i}`);
    const seen: string[] = [];
    const sink: PollSink = {
      gate: {
        touch: (rel: string, kind: string) => void seen.push(`${kind} ${rel}`),
        cancel: () => undefined,
      } as unknown as PollSink['gate'],
      report: (rel, kind) => void seen.push(`${kind} ${rel}`),
      walkProblem: (code, _m, rel) => void seen.push(`problem ${code} ${rel}`),
    };
    const w = new PollWatcher(dir, compileIgnore({ ignore: [], ignoreDefaults: false }, dir), 3_600_000, sink);
    await w.start();
    try {
      // About the paths' bytes and 20 a file (a Map of stat objects: well over 100 a file).
      const pathBytes = Array.from({ length: 5000 }, (_, i) => `d${i % 10}/f${i}`.length + 1).reduce((a, b) => a + b, 0);
      expect(w.snapshot.length).toBe(5000);
      expect(w.snapshot.bytes).toBeLessThanOrEqual(pathBytes + 20 * 5000);
      write('d3/f3', 'longer');
      write('d9/new');
      write('a/first');
      fs.rmSync(path.join(dir, 'd5/f5'));
      fs.rmSync(path.join(dir, 'd7'), { recursive: true });
      await (w as unknown as { pass(): Promise<void> }).pass();
      const unlinked = seen.filter((s) => s.startsWith('unlink '));
      expect(seen.filter((s) => !s.startsWith('unlink ')).sort()).toEqual(['add a/first', 'add d9/new', 'change d3/f3']);
      expect(unlinked).toHaveLength(501);
      expect(unlinked).toContain('unlink d5/f5');
      expect(w.snapshot.length).toBe(5000 + 2 - 501);
    } finally {
      await w.close();
    }
  });
});
