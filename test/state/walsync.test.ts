import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AfterCommitSync, syncForBatches, walFsync } from '../../src/state/walsync.js';
import { tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());

/** A sync the test ends by hand, counting how often it was started. */
function heldSync() {
  const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    started: () => pending.length,
    sync: () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject })),
    end: (i: number, failure?: Error) => (failure ? pending[i]!.reject(failure) : pending[i]!.resolve()),
  };
}

/** Lets the promise callbacks queued so far run. */
const settled = () => new Promise((r) => setImmediate(r));

describe('AfterCommitSync', () => {
  it('commits without an fsync of its own and leaves the connection at FULL for every other write', () => {
    const { state } = t.fresh();
    const s = new AfterCommitSync(state.db, heldSync().sync);
    const inside = s.commit(() => state.db.pragma('synchronous', { simple: true }));
    expect(inside).toBe(1); // NORMAL
    expect(state.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
  });

  it('says a commit is durable only once the sync that began after it has ended', async () => {
    const { state } = t.fresh();
    const held = heldSync();
    const s = new AfterCommitSync(state.db, held.sync);
    expect(s.durable()).toBeUndefined();
    s.commit(() => state.meta.set('a', '1'));
    const first = s.durable();
    expect(first).toBeDefined();
    let done = false;
    void first!.then(() => (done = true));
    // Two more commits while the first sync runs: one more sync covers both.
    s.commit(() => state.meta.set('b', '1'));
    const later = s.durable();
    s.commit(() => state.meta.set('c', '1'));
    expect(held.started()).toBe(1);
    held.end(0);
    await settled();
    expect(done).toBe(true);
    expect(held.started()).toBe(2);
    expect(s.durable()).toBeDefined(); // the second sync still runs
    held.end(1);
    await later;
    expect(s.durable()).toBeUndefined();
    expect(held.started()).toBe(2);
  });

  it('rejects the waits a failed sync covered with STATE_IO, and tries again at the next commit', async () => {
    const { state } = t.fresh();
    const held = heldSync();
    const s = new AfterCommitSync(state.db, held.sync);
    s.commit(() => state.meta.set('a', '1'));
    const wait = s.durable()!;
    held.end(0, Object.assign(new Error('I/O error'), { code: 'EIO' }));
    await expect(wait).rejects.toMatchObject({ code: 'STATE_IO', retry: 'retry' });
    expect(held.started()).toBe(1); // nobody waits: no sync again until the next commit
    s.commit(() => state.meta.set('b', '1'));
    expect(held.started()).toBe(2);
    const again = s.durable()!;
    held.end(1);
    await expect(again).resolves.toBeUndefined();
  });
});

describe('walFsync', () => {
  it('syncs the WAL of a database in WAL mode, and takes a missing WAL as nothing to sync', async () => {
    const { state, file } = t.fresh();
    state.meta.set('k', 'v');
    expect(existsSync(`${file}-wal`)).toBe(true);
    const sync = syncForBatches(state.db);
    expect(sync).toBeDefined();
    await expect(sync!()).resolves.toBeUndefined();
    const gone = join(t.dir(), 'none.db');
    rmSync(`${gone}-wal`, { force: true });
    await expect(walFsync(gone)()).resolves.toBeUndefined();
  });
});
