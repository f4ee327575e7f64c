/**
 * Issue 21, memory that does not grow with the share: a rescan queues what it
 * finds in batches as its merge goes, never a job (or a stat) per file of the
 * share at once, while keeping what the rescan did with the whole list: the
 * stability gate, FoldersAhead, the folder-rename search, the delete guard.
 * Real files, a real state database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/types.js';
import { silentLogger } from '../../src/lib/log.js';
import type { State } from '../../src/state/index.js';
import type { EnqueueItem } from '../../src/state/jobs.js';
import { compileIgnore } from '../../src/watch/index.js';
import type { MappingRuntime } from '../../src/worker/mapping.js';
import { annotateKey } from '../../src/worker/followups.js';
import { rescanMapping } from '../../src/worker/rescan.js';
import { tempStates } from '../support/state.js';

const states = tempStates();
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rescan-'));
});
afterEach(() => {
  states.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (rel: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};

function mapping(extra: Partial<MappingRuntime> = {}): MappingRuntime {
  return { name: 'm', local: dir, remote: 'R', deletes: 'keep', permanentDeletes: false, ...extra };
}

/** The state's enqueueMany, counting the jobs of each call. */
function countBatches(state: State): number[] {
  const sizes: number[] = [];
  const real = state.jobs.enqueueMany.bind(state.jobs);
  state.jobs.enqueueMany = (items: readonly EnqueueItem[]) => {
    sizes.push(items.length);
    real(items);
  };
  return sizes;
}

function rescan(state: State, clock: { now(): number }, m: MappingRuntime, extra: Partial<Parameters<typeof rescanMapping>[2]> = {}) {
  return rescanMapping(m, compileIgnore({ ignore: [], ignoreDefaults: false }, dir), {
    state,
    clock,
    logger: silentLogger,
    guard: DEFAULTS.deleteGuard,
    ...extra,
  });
}

describe('a rescan queues as it goes', () => {
  it('queues a first sync of 600 files in batches, with their folders ahead per batch', async () => {
    for (let i = 0; i < 6; i++) for (let k = 0; k < 100; k++) write(`d${i}/f${k}`);
    const { state, clock } = states.fresh();
    const sizes = countBatches(state);
    const ahead: string[][] = [];
    const settled: string[] = [];
    const r = await rescan(state, clock, mapping(), {
      batch: 32,
      ahead: { add: (_m, paths) => void ahead.push([...paths]) },
      // Every 100th file is still being written: the gate takes it, the queue does not.
      settle: (p) => p.endsWith('/f99') && settled.push(p) > 0,
    });
    expect(r.files).toBe(600);
    expect(r.changed).toBe(600);
    expect(r.settling).toBe(6);
    expect(settled).toHaveLength(6);
    // Never more than a batch at once (the old rescan queued all 594 in one call).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(594);
    expect(state.jobs.counts().queued).toBe(594);
    expect(Math.max(...ahead.map((a) => a.length))).toBeLessThanOrEqual(32);
    expect(new Set(ahead.flat()).size).toBe(594);
  });

  it("hands the first few files' folders ahead at once, before a full batch is found", async () => {
    for (let i = 0; i < 4; i++) for (let k = 0; k < 100; k++) write(`d${i}/f${k}`);
    const { state, clock } = states.fresh();
    const sizes = countBatches(state);
    const ahead: number[] = [];
    await rescan(state, clock, mapping(), { ahead: { add: (_m, paths) => void ahead.push([...paths].length) } });
    // The first batch is small (the old rescan held all 400 for its one batch of up to 1,024), the rest full.
    expect(sizes[0]).toBeLessThanOrEqual(32);
    expect(ahead[0]).toBe(sizes[0]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(400);
    expect(sizes.length).toBe(2);
  });

  it('a file both changed and due for new tags keeps its content job', async () => {
    write('p.bin', 'new content');
    const { state, clock } = states.fresh();
    state.files.recordSynced({
      mapping: 'm',
      path: 'p.bin',
      size: 1,
      mtimeMs: 1,
      sha256: '0'.repeat(64),
      assetId: '00000000-0000-0000-0000-000000000001',
      parentId: null,
      version: 0,
      syncedAt: 1,
      missingSince: null,
    });
    // Tags recorded as none: the new setting queues every synced file for its tags.
    state.meta.set(annotateKey('m'), JSON.stringify({ tags: [], folderTags: false, embeddedMetadata: false }));
    await rescan(state, clock, mapping({ tags: ['brand'] }));
    const jobs = state.jobs.pending(10);
    expect(jobs.map((j) => [j.path, j.reason])).toEqual([['p.bin', 'rescan']]);
  });

  it('queues a change of the tag settings as it reads the rows, a batch at a time', async () => {
    const { state, clock } = states.fresh();
    state.db.transaction(() => {
      for (let i = 0; i < 300; i++) {
        write(`t/f${i}`);
        const st = fs.statSync(path.join(dir, `t/f${i}`));
        state.files.recordSynced({
          mapping: 'm',
          path: `t/f${i}`,
          size: st.size,
          mtimeMs: st.mtimeMs,
          sha256: `${i}`.padStart(64, '0'),
          assetId: `00000000-0000-0000-0000-${`${i}`.padStart(12, '0')}`,
          parentId: null,
          version: 0,
          syncedAt: 1,
          missingSince: null,
        });
      }
    })();
    state.meta.set(annotateKey('m'), JSON.stringify({ tags: [], folderTags: false, embeddedMetadata: false }));
    const sizes = countBatches(state);
    const r = await rescan(state, clock, mapping({ tags: ['brand'] }), { batch: 32 });
    expect(r.changed).toBe(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(32);
    expect(state.jobs.counts().queued).toBe(300);
    expect(new Set(state.jobs.pending(1000).map((j) => j.reason))).toEqual(new Set(['annotate']));
  });

  it('still counts gone files for the delete guard before it deletes anything', async () => {
    const { state, clock } = states.fresh();
    state.db.transaction(() => {
      for (let i = 0; i < 40; i++)
        state.files.recordSynced({
          mapping: 'm',
          path: `old/f${i}`,
          size: 1,
          mtimeMs: 1,
          sha256: `${i}`.padStart(64, '0'),
          assetId: `00000000-0000-0000-0000-${`${i}`.padStart(12, '0')}`,
          parentId: null,
          version: 0,
          syncedAt: 1,
          missingSince: null,
        });
    })();
    for (let k = 0; k < 100; k++) write(`new/f${k}`);
    const r = await rescan(state, clock, mapping(), { batch: 16 });
    expect(r.gone).toBe(40);
    expect(r.held).not.toBeNull();
    const reasons = new Map<string, number>();
    for (const j of state.jobs.pending(1000)) reasons.set(j.reason ?? '', (reasons.get(j.reason ?? '') ?? 0) + 1);
    // Held: the new files are queued, the gone ones too (the worker holds them), none deleted here.
    expect(reasons.get('rescan')).toBe(100);
    expect(reasons.get('gone')).toBe(40);
  });

  it('looks for renamed folders by reading the rows under the gone ones, not the table', async () => {
    const { state, clock } = states.fresh();
    const synced = (p: string, i: number) => {
      const st = fs.statSync(path.join(dir, p));
      state.files.recordSynced({
        mapping: 'm',
        path: p,
        size: st.size,
        mtimeMs: st.mtimeMs,
        sha256: `${i}`.padStart(64, '0'),
        assetId: `00000000-0000-0000-0000-${`${i}`.padStart(12, '0')}`,
        parentId: null,
        version: 0,
        syncedAt: 1,
        missingSince: null,
      });
    };
    // 20 folders of 50 synced files; then one folder renamed as a whole.
    let i = 0;
    for (let d = 0; d < 20; d++) for (let k = 0; k < 50; k++) write(`d${d}/f${k}`, `${d}-${k}`);
    state.db.transaction(() => {
      for (let d = 0; d < 20; d++) for (let k = 0; k < 50; k++) synced(`d${d}/f${k}`, i++);
    })();
    fs.renameSync(path.join(dir, 'd7'), path.join(dir, 'n7'));
    let read = 0;
    const list = state.files.list.bind(state.files);
    state.files.list = (m: string) => {
      const rows = list(m);
      read += rows.length;
      return rows;
    };
    const under = state.files.listUnder.bind(state.files);
    state.files.listUnder = (m: string, d: string, limit?: number) => {
      const rows = under(m, d, limit);
      read += rows.length;
      return rows;
    };
    // The rename found asks for the old folder's id; none is known, so nothing goes to the server.
    const asked: string[] = [];
    const folderOf = state.folders.get.bind(state.folders);
    state.folders.get = (remote: string) => {
      asked.push(remote);
      return folderOf(remote);
    };
    const server = { client: {}, resolver: {} } as unknown as NonNullable<Parameters<typeof rescanMapping>[2]['server']>;
    const r = await rescan(state, clock, mapping(), { server, allowMassDelete: true });
    expect(r.gone).toBe(50);
    expect(asked).toEqual(['R/d7']);
    // The 50 gone rows, twice at most (is every row gone; the rows to compare), never the 1,000.
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(2 * 51);
  });
});
