/**
 * The walk `once` runs on a thread (src/watch/walkthread.ts) must feed the
 * merge exactly what the walk on the calling thread feeds it, in the same
 * order, and never run more than MAX_CHUNKS ahead of it. The thread needs
 * compiled JavaScript, so this test loads the build in dist/ (`npm test`
 * compiles first).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore, diffStream, type IgnoreOptions, type StreamDiff } from '../../src/watch/index.js';
import type { ThreadWalks, WalkJob } from '../../src/watch/walkthread.js';
import { waitFor } from '../support/wait.js';

const dist = path.resolve(import.meta.dirname, '../..', 'dist', 'watch', 'walkthread.js');
const { startThreadWalks, CHUNK, MAX_CHUNKS } = (await import(dist)) as {
  startThreadWalks: (jobs: WalkJob[]) => ThreadWalks | null;
  CHUNK: number;
  MAX_CHUNKS: number;
};

let dir: string;
const spec: IgnoreOptions = { ignore: ['drafts/**', '*.bak'], ignoreDefaults: true };
const write = (rel: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};
const plain = (d: StreamDiff) => ({
  changed: [...d.changed],
  gone: d.gone,
  back: d.back,
  rows: d.rows,
  files: d.files,
  skipped: d.skipped,
  errors: d.errors.map((e) => [e.path, e.code]),
  rootMissing: d.rootMissing,
  rootEmpty: d.rootEmpty,
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walkthread-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('startThreadWalks', () => {
  it("gives the event loop turns while a first sync's files go to the sink; an unchanged tree is merged in one go", async () => {
    for (let i = 0; i < 1000; i++) write(`d${i % 4}/f${String(i).padStart(4, '0')}`);
    const first = startThreadWalks([{ root: dir, spec }])!;
    try {
      // The whole walk (one chunk) waits in the port before the merge starts, as when once loads its modules.
      await waitFor(() => first.buffered() === 1, 10_000);
      let sunk = 0;
      let atTurn = -1;
      setImmediate(() => (atTurn = sunk));
      const d = await first.diff(0, () => [], { sink: () => void sunk++ });
      expect(d!.files).toBe(1000);
      expect(sunk).toBe(1000);
      // The old merge took the chunk in one go: the turn came only after all 1,000.
      expect(atTurn).toBeGreaterThan(0);
      expect(atTurn).toBeLessThan(1000);
    } finally {
      await first.close();
    }
    // The same tree against a table that knows every file: nothing goes to the sink, and no turn is taken.
    const again = startThreadWalks([{ root: dir, spec }])!;
    try {
      const known = await diffStream(dir, compileIgnore(spec, dir), () => []);
      const rows = [...known.changed].flatMap(([p, st]) => [p, String(st.size), String(st.mtimeMs), '']);
      const table = (after: string, limit: number): string[] => {
        const out: string[] = [];
        for (let i = 0; i < rows.length && out.length < 4 * limit; i += 4) if (rows[i] > after) out.push(...rows.slice(i, i + 4));
        return out;
      };
      await waitFor(() => again.buffered() === 1, 10_000);
      let turned = false;
      setImmediate(() => (turned = true));
      const d = await again.diff(0, table, { sink: () => undefined });
      expect(d!.changed.size).toBe(0);
      expect(d!.rows).toBe(1000);
      expect(turned).toBe(false);
    } finally {
      await again.close();
    }
  });

  it('feeds the merge what the walk on this thread feeds it, in order, for each mapping', async () => {
    for (const name of ['a', 'A', 'a-b', 'a.b', 'a0', 'é', '😀', '\uFF01']) {
      write(`${name}/f`);
      write(`${name}.txt`);
    }
    write('a/deep/er/f.bak');
    write('drafts/x');
    write('.git/config');
    fs.symlinkSync('/', path.join(dir, 'link'));
    // Rows in the table's order: some the same, one gone, one of another size.
    const rows = ['a-b.txt', '1', '0', '', 'a.b/f', '1', '0', '', 'a/gone', '1', '0', '', 'b', '9', '0', ''];
    const table = (after: string, limit: number): string[] => {
      const out: string[] = [];
      for (let i = 0; i < rows.length && out.length < 4 * limit; i += 4) if (rows[i] > after) out.push(...rows.slice(i, i + 4));
      return out;
    };
    const walks = startThreadWalks([
      { root: dir, spec },
      { root: path.join(dir, 'a'), spec },
    ]);
    expect(walks).not.toBeNull();
    try {
      const whole = await walks!.diff(0, table, {});
      const sub = await walks!.diff(1, () => [], {});
      expect(plain(whole!)).toEqual(plain(await diffStream(dir, compileIgnore(spec, dir), table)));
      expect(plain(sub!)).toEqual(plain(await diffStream(path.join(dir, 'a'), compileIgnore(spec, path.join(dir, 'a')), () => [])));
      expect(whole!.gone).toEqual(['a/gone', 'b']);
    } finally {
      await walks!.close();
    }
  });

  it('runs no more than a bounded number of files ahead of a merge that has not started', async () => {
    const n = CHUNK * (MAX_CHUNKS + 4);
    for (let i = 0; i < n; i++) {
      if (i % 1000 === 0) fs.mkdirSync(path.join(dir, `d${i / 1000}`));
      fs.writeFileSync(path.join(dir, `d${Math.floor(i / 1000)}`, `f${i}`), '');
    }
    const walks = startThreadWalks([{ root: dir, spec }]);
    try {
      // Nothing reads, as while `once` loads its modules and opens the state: the thread runs ahead until its bound.
      await waitFor(() => walks!.buffered() >= MAX_CHUNKS, 30_000);
      let seen = 0;
      const counting = {
        apart: () => {
          seen += 1;
          return false;
        },
      };
      const pending = walks!.diff(0, () => [], counting);
      // What had arrived is merged at once, before anything else can arrive: the thread's lead.
      const lead = seen;
      const d = await pending;
      expect(d!.files).toBe(n);
      expect(lead).toBeGreaterThanOrEqual(CHUNK);
      expect(lead).toBeLessThanOrEqual(MAX_CHUNKS * CHUNK);
    } finally {
      await walks!.close();
    }
  });

  it('hands the sink what it takes and keeps no diff once it is returned, while the thread lives on', async () => {
    for (let i = 0; i < 50; i++) write(`d/f${i}`);
    const walks = startThreadWalks([{ root: dir, spec }]);
    expect(walks).not.toBeNull();
    try {
      const sunk: string[] = [];
      // Only a WeakRef leaves this function: the caller holds nothing of the diff.
      const diffOf = async (): Promise<WeakRef<object>> => {
        const d = await walks!.diff(0, () => [], { sink: (p) => void sunk.push(p) });
        expect(d!.streamed).toBe(50);
        return new WeakRef(d!);
      };
      const ref = await diffOf();
      expect(sunk).toHaveLength(50);
      // A WeakRef's target lives to the end of the job that made or read it: collect in a later one.
      await new Promise((r) => setImmediate(r));
      v8.setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
      // The run goes on for as long as the uploads take: the walk's diff must not be kept for it.
      expect(ref.deref()).toBeUndefined();
    } finally {
      await walks!.close();
    }
  });
});
