import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import type { ReconcileContext } from '../../src/worker/context.js';
import { SETTLING } from '../../src/worker/decide.js';
import { handleGone } from '../../src/worker/gone.js';
import type { MappingRuntime } from '../../src/worker/mapping.js';
import { tempStates } from '../support/state.js';
import { countStatements } from '../support/statements.js';

/**
 * The live delete guard weighs a mapping's missing files against its known
 * files for every deleted file. Counting the known files reads every row of
 * the mapping: a burst of deletions on a big share must not do that per file,
 * and the verdicts must stay those of a fresh count. handleGone runs on a real
 * state database; a held or forgotten file asks nothing of the server.
 */
const t = tempStates();
afterEach(() => t.cleanup());

const T0 = 1_700_000_000_000;
const MOVE_WINDOW_MS = 1000;
const SETTLE_MS = 10_000;
const COUNT = 'SELECT count(*) FROM files WHERE mapping = ?';

function setup(known: number, gone: number) {
  const dir = t.dir();
  const local = join(dir, 'share');
  mkdirSync(local);
  writeFileSync(join(local, 'here.txt'), 'x');
  const state = t.open(join(dir, 'state.db'));
  state.files.batch(() => {
    for (let i = 0; i < known; i++) {
      const p = `f${String(i).padStart(3, '0')}`;
      state.files.recordSynced({
        mapping: 'share',
        path: p,
        size: 1,
        mtimeMs: 1,
        sha256: 'a'.repeat(64),
        assetId: `id-${p}`,
        parentId: null,
        version: 1,
        syncedAt: 1,
        missingSince: i < gone ? T0 : null,
      });
    }
  });
  const mapping: MappingRuntime = { name: 'share', local, remote: 'Share', deletes: 'keep', permanentDeletes: false };
  const clock = new FakeClock(T0 + MOVE_WINDOW_MS);
  const ctx = {
    state,
    clock,
    logger: silentLogger,
    mappings: new Map([['share', mapping]]),
    moveWindowMs: MOVE_WINDOW_MS,
    firstLook: () => T0 - 1,
    guard: { enabled: true, minFiles: 5, maxShare: 0.5, settleMs: SETTLE_MS },
  } as unknown as ReconcileContext;
  const decide = (path: string) => handleGone(mapping, path, state.files.get('share', path), ctx);
  return {
    state,
    clock,
    decide,
    paths: (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `f${String(from + i).padStart(3, '0')}`),
  };
}

describe('a burst of deletions weighed by the live guard', () => {
  it('counts the mapping’s files once, not once per deleted file', async () => {
    const { clock, decide, paths, state } = setup(100, 40);
    const outcomes: string[] = [];
    const settling = await countStatements(async () => {
      for (const p of paths(0, 40)) outcomes.push(JSON.stringify(await decide(p)));
    });
    expect(new Set(outcomes)).toEqual(
      new Set([JSON.stringify({ action: 'hold', requeueAfterMs: SETTLE_MS - MOVE_WINDOW_MS, detail: SETTLING })]),
    );
    expect(settling.get(COUNT)).toBe(1);

    clock.advance(SETTLE_MS);
    const forgetting = await countStatements(async () => {
      for (const p of paths(0, 40)) expect((await decide(p)).action).toBe('forget');
    });
    // Each forget takes a row away, and the count follows it without reading the table again.
    expect(forgetting.get(COUNT)).toBeUndefined();
    expect(state.files.count('share')).toBe(60);
    expect(state.files.countMissing('share')).toBe(0);
  });

  it('holds at the same file as a fresh count would: rows removed here and by another connection are counted', async () => {
    const { clock, decide, paths, state } = setup(41, 20);
    clock.advance(SETTLE_MS);
    // 20 of 41 gone passes the guard; the file is forgotten (19 of 40 left).
    expect((await decide('f000')).action).toBe('forget');
    // A present file's row goes through this process: 19 of 39 passes (18 of 38 left).
    state.files.remove('share', 'f040');
    expect((await decide('f001')).action).toBe('forget');
    // One goes through another connection, one here: 18 of 36 is half, which passes (17 of 35 left).
    const other = new Database(state.file);
    other.prepare(`DELETE FROM files WHERE mapping = 'share' AND path = 'f039'`).run();
    other.close();
    state.files.remove('share', 'f038');
    expect((await decide('f002')).action).toBe('forget');
    // Two more present files gone tip it: 17 of 33.
    state.files.remove('share', 'f037');
    state.files.remove('share', 'f036');
    const held = await decide('f003');
    expect(held).toEqual({ action: 'hold', detail: expect.stringMatching(/^17 of 33 files \(52%\) vanished at once/) });
    expect(paths(3, 20).every((p) => state.files.get('share', p)?.missingSince === T0)).toBe(true);
  });
});
