import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { comparePaths, compileIgnore, diffLean, diffStream, walkMapping } from '../../src/watch/index.js';
import { Walker } from '../../src/watch/walk.js';
import type { State } from '../../src/state/index.js';
import { tempStates } from '../support/state.js';

// Names that sort differently by byte, by UTF-16 unit, by case, and around '/'
// ('-' 0x2D < '.' 0x2E < '/' 0x2F < '0' 0x30): a folder 'a' holds 'a/…', which
// sorts between the files 'a.b' and 'a0'.
const TRICKY = [
  'a',
  'A',
  'a-b',
  'a.b',
  'a0',
  'a b',
  'a~',
  'B',
  'b',
  'Z',
  'é',
  'e\u0301',
  'ß',
  '\uE000',
  '\uFF01',
  '😀',
  '𝔸',
  '中',
  'x.y.z',
  '_',
  '0',
];

let dir: string;
const states = tempStates();
const ig = () => compileIgnore({ ignore: [], ignoreDefaults: false }, dir);
const write = (rel: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'merge-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  states.cleanup();
});

/** mulberry32: the same tree for the same seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function openState(): State {
  return states.open(path.join(states.dir(), 'state.db'));
}

let assetNo = 0;
function row(s: State, p: string, size: number | null, mtimeMs: number | null, missingSince: number | null = null): void {
  assetNo += 1;
  if (size === null) s.files.reserve('m', p, `asset-${assetNo}`);
  else
    s.files.recordSynced({
      mapping: 'm',
      path: p,
      size,
      mtimeMs: mtimeMs!,
      sha256: 'h',
      assetId: `asset-${assetNo}`,
      parentId: 'p',
      version: 1,
      syncedAt: 1,
      missingSince,
    });
}

const orderedRows = (s: State) => (after: string, limit: number) => s.files.listAfter('m', after, limit);

/** The order the walk yields, with files handed in order to the sink. */
function orderedWalk(root: string): string[] {
  const seen: string[] = [];
  const w = new Walker(root, ig(), (rel) => void seen.push(rel), { ordered: true });
  w.step(Infinity);
  return seen;
}

describe('the rescan order (watch/order.ts)', () => {
  it('is the byte order of UTF-8, which JavaScript comparison is not', () => {
    const names = [...TRICKY, 'a/b', 'a/b/c', 'a.b/c'];
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...names].sort(comparePaths)).toEqual(byBytes);
    // The case that needs it: a character above U+FFFF against one in U+E000..U+FFFF.
    expect(comparePaths('😀', '\uFF01')).toBeGreaterThan(0);
    expect('😀' < '\uFF01').toBe(true);
  });

  it('is the order the walk yields and the order SQLite reads the files table in, with tricky names at every level', () => {
    for (const a of TRICKY) {
      write(a === 'a' ? 'a/inner' : a);
      write(`a.b.d/${a}`);
      write(`deep/${a}/x/${a}`);
    }
    fs.mkdirSync(path.join(dir, 'empty', 'emptier'), { recursive: true });
    write('deep/a-b/1/2/3/4/5/6/7/8/9/leaf');
    const walked = orderedWalk(dir);
    const s = openState();
    for (const p of [...walked].reverse()) row(s, p, 1, 1);
    const read: string[] = [];
    for (let page = s.files.listAfter('m', '', 7); page.length > 0; page = s.files.listAfter('m', read[read.length - 1], 7)) {
      for (let i = 0; i < page.length; i += 4) read.push(page[i]);
    }
    expect(walked.length).toBe(3 * TRICKY.length + 1);
    expect(read).toEqual(walked);
    expect([...walked].sort(comparePaths)).toEqual(walked);
    expect(walked.indexOf('a.b')).toBeLessThan(walked.indexOf('a/inner'));
    expect(walked.indexOf('a/inner')).toBeLessThan(walked.indexOf('a0'));
  });
});

describe('diffStream', () => {
  /** A random tree of tricky names and a table that partly agrees with it; returns nothing, builds both. */
  function randomCase(seed: number, s: State): void {
    const r = rng(seed);
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
    const paths = new Set<string>();
    for (let i = 0; i < 120; i++) {
      const depth = Math.floor(r() * 4);
      const parts = Array.from({ length: depth + 1 }, () => pick(TRICKY));
      paths.add(parts.join('/'));
    }
    // A name cannot be both a file and a folder: keep the first spelling that fits.
    const files: string[] = [];
    const dirs = new Set<string>();
    for (const p of paths) {
      const parts = p.split('/');
      const ancestors = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
      if (files.some((f) => ancestors.includes(f)) || dirs.has(p)) continue;
      for (const d of ancestors) dirs.add(d);
      files.push(p);
    }
    for (const f of files) {
      const roll = r();
      if (roll < 0.85) write(f, 'x'.repeat(1 + Math.floor(r() * 3)));
      if (roll < 0.55) {
        const st = fs.statSync(path.join(dir, f));
        row(s, f, st.size, Math.floor(st.mtimeMs), r() < 0.1 ? 1700000000000 : null); // unchanged (mtime stored truncated)
      } else if (roll < 0.65)
        row(s, f, 99, 1); // changed
      else if (roll < 0.7)
        row(s, f, null, null); // reserved, never synced
      else if (roll >= 0.85) row(s, f, 1, 1, r() < 0.5 ? 1700000000000 : null); // gone
    }
    fs.mkdirSync(path.join(dir, 'empty folder', 'empty'), { recursive: true });
  }

  it('finds what the full-map diff finds, on seeded random trees of tricky names, whatever the page size', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.mkdirSync(dir);
      const s = openState();
      randomCase(seed, s);
      const walk = await walkMapping(dir, ig());
      const want = diffLean(walk.entries, s.files.listLean('m'));
      for (const page of [1, 3, 1024]) {
        const got = await diffStream(dir, ig(), orderedRows(s), { page, yieldEvery: 5 });
        expect([...got.changed.keys()].sort(), `seed ${seed}, page ${page}`).toEqual(want.changed.sort());
        expect([...got.gone].sort()).toEqual(want.gone.sort());
        expect([...got.back].sort()).toEqual(want.back.sort());
        expect(got.rows).toBe(want.rows);
        expect(got.files).toBe(walk.entries.size);
        for (const [p, st] of got.changed) expect(st).toEqual(walk.entries.get(p));
        // With a sink: what it took and what is held are the same files, each once.
        const sunk = new Map<string, unknown>();
        const fed = await diffStream(dir, ig(), orderedRows(s), { page, yieldEvery: 5, sink: (p, st) => void sunk.set(p, st) });
        expect(sunk.size).toBe(fed.streamed);
        expect([...sunk.keys(), ...fed.changed.keys()].sort()).toEqual(want.changed.sort());
        for (const [p, st] of sunk) expect(st).toEqual(walk.entries.get(p));
        expect(fed.gone).toEqual(got.gone);
        // The order SQLite reads them in, which the walk follows.
        expect(got.gone).toEqual([...got.gone].sort(comparePaths));
      }
      states.cleanup();
    }
  });

  it('sets apart what `apart` picks: its rows count as gone, as in a walk without them', async () => {
    write('p.jpg');
    write('p.xmp');
    write('q.XMP');
    const s = openState();
    row(s, 'q.XMP', 1, 1);
    const d = await diffStream(dir, ig(), orderedRows(s), { apart: (p) => p.toLowerCase().endsWith('.xmp') });
    expect([...d.apart!.keys()].sort()).toEqual(['p.xmp', 'q.XMP']);
    expect([...d.changed.keys()]).toEqual(['p.jpg']);
    expect(d.gone).toEqual(['q.XMP']);
    expect(d.files).toBe(1);
  });

  it('holds the folders on the way down and one page of rows, not the tree', async () => {
    // 8 folders of 5 folders of 25 files: 1,000 files, the widest folder 25 entries.
    const s = openState();
    for (let i = 0; i < 8; i++) for (let j = 0; j < 5; j++) for (let k = 0; k < 25; k++) write(`d${i}/e${j}/f${k}`);
    const walk = await walkMapping(dir, ig());
    for (const [p, st] of walk.entries) row(s, p, st.size, st.mtimeMs);
    const d = await diffStream(dir, ig(), orderedRows(s), { page: 16 });
    expect(d.files).toBe(1000);
    expect(d.rows).toBe(1000);
    expect(d.changed.size + d.gone.length).toBe(0);
    // Entries held: those of each folder on the way down (8 + 5 + 25), never the 1,000 files.
    expect(d.peak.entries).toBeLessThanOrEqual(8 + 5 + 25);
    expect(d.peak.rows).toBeLessThanOrEqual(16);
  });

  it('hands a first sync to the sink as it walks, holding none of its files', async () => {
    const s = openState();
    for (let i = 0; i < 8; i++) for (let j = 0; j < 5; j++) for (let k = 0; k < 25; k++) write(`d${i}/e${j}/f${k}`);
    const sunk: string[] = [];
    const d = await diffStream(dir, ig(), orderedRows(s), { page: 16, sink: (p) => void sunk.push(p) });
    expect(d.files).toBe(1000);
    expect(d.streamed).toBe(1000);
    expect(sunk).toEqual(orderedWalk(dir));
    // Held at once: none (the old diff held all 1,000 in `changed`).
    expect(d.peak.changed).toBe(0);
    expect(d.changed.size).toBe(0);
  });

  it('holds new files while a row is ahead or one was gone: a folder rename may still claim them', async () => {
    const s = openState();
    for (const f of ['a/1', 'a/2', 'k', 'k2', 'q/1', 'r', 's/1', 's/2']) write(f);
    const stat = (f: string) => fs.statSync(path.join(dir, f));
    row(s, 'k', stat('k').size, stat('k').mtimeMs);
    row(s, 'k2', 99, stat('k2').mtimeMs); // known, another size
    row(s, 'r', stat('r').size, stat('r').mtimeMs);
    const sunk: string[] = [];
    const d = await diffStream(dir, ig(), orderedRows(s), { sink: (p) => void sunk.push(p) });
    // A known file at once; the new ones before the last row once it is passed; then each as found.
    expect(sunk).toEqual(['k2', 'a/1', 'a/2', 'q/1', 's/1', 's/2']);
    expect(d.peak.changed).toBe(3);
    expect(d.changed.size).toBe(0);

    // A row gone (its file not on disk): every new file is held for the folder-rename search.
    row(s, 'b/gone', 1, 1);
    sunk.length = 0;
    const g = await diffStream(dir, ig(), orderedRows(s), { sink: (p) => void sunk.push(p) });
    expect(g.gone).toEqual(['b/gone']);
    expect(sunk).toEqual(['k2']);
    expect([...g.changed.keys()]).toEqual(['a/1', 'a/2', 'q/1', 's/1', 's/2']);
  });

  it('reads rows again after each yield, so a row written meanwhile is compared as it is now', async () => {
    const s = openState();
    const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, '0')}`);
    for (const n of names) write(n);
    const pending = diffStream(dir, ig(), orderedRows(s), { yieldEvery: 1 });
    // Jobs finishing while the walk yields: every file gets its row.
    setImmediate(() => {
      for (const n of names) {
        const st = fs.statSync(path.join(dir, n));
        row(s, n, st.size, st.mtimeMs);
      }
    });
    const d = await pending;
    expect(d.changed.has('f19')).toBe(false);
    expect(d.changed.size).toBeLessThan(20);
    expect(d.gone).toEqual([]);
  });
});
