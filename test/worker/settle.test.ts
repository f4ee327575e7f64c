import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/log.js';
import type { FileRow } from '../../src/state/index.js';
import { Settlements } from '../../src/worker/settle.js';
import { counted, countStatements } from '../support/statements.js';
import { tempStates } from '../support/state.js';

/** The pool's batches: every finished job's writes and its completion in one transaction with the next claim. */
const t = tempStates();
afterEach(() => t.cleanup());

const row = (path: string, assetId: string): FileRow => ({
  mapping: 'm',
  path,
  size: 1,
  mtimeMs: 1,
  sha256: `sha-${path}`,
  assetId,
  parentId: 'folder',
  version: 1,
  syncedAt: 1,
  missingSince: null,
});

function world() {
  const { clock, state, q } = t.fresh();
  for (const p of ['a', 'b', 'c']) q.enqueue('m', p, 'add');
  clock.advance(60_000);
  const [a, b, c] = q.claim('w', 3);
  const settle = new Settlements({ db: state.db, jobs: q, clock, logger: silentLogger, sync: null });
  const jobState = (path: string) =>
    state.db.prepare(`SELECT state, last_code AS code FROM jobs WHERE mapping = 'm' AND path = ?`).get(path) as
      | { state: string; code: string | null }
      | undefined;
  return { state, q, settle, jobs: [a!, b!, c!], jobState };
}

describe('Settlements', () => {
  it('writes a batch of jobs with no savepoint of its own per job', async () => {
    const { state, q, settle, jobs } = world();
    for (const job of jobs)
      settle.later(settle.unit(job, [() => state.files.recordSynced(row(job.path, `id-${job.path}`))], () => q.complete(job)));
    let claimed: string | undefined;
    const counts = await countStatements(async () => {
      claimed = settle.writeWith(() => 'claimed');
    });
    expect(claimed).toBe('claimed');
    expect(counted(counts, 'SAVEPOINT')).toBe(0);
    expect(
      state.files
        .list('m')
        .map((r) => r.path)
        .sort(),
    ).toEqual(['a', 'b', 'c']);
    expect(q.counts()).toMatchObject({ queued: 0, running: 0 });
  });

  it('fails only the job whose write a constraint refused; the others and the claim are written', () => {
    const { state, q, settle, jobs, jobState } = world();
    const [a, b, c] = jobs;
    settle.later(settle.unit(a!, [() => state.files.recordSynced(row('a', 'id-a'))], () => q.complete(a!)));
    // Another path's asset id: the files table holds one path per asset.
    settle.later(settle.unit(b!, [() => state.files.recordSynced(row('b', 'id-a'))], () => q.complete(b!)));
    settle.later(settle.unit(c!, [() => state.files.recordSynced(row('c', 'id-c'))], () => q.complete(c!)));
    expect(settle.writeWith(() => 'claimed')).toBe('claimed');
    expect(settle.waiting).toBe(0);
    expect(
      state.files
        .list('m')
        .map((r) => r.path)
        .sort(),
    ).toEqual(['a', 'c']);
    expect(jobState('a')).toBeUndefined();
    expect(jobState('c')).toBeUndefined();
    expect(jobState('b')).toMatchObject({ state: 'queued', code: 'STATE_CONFLICT' });
    // The next batch runs without savepoints again.
    settle.later(() => state.files.recordSynced(row('d', 'id-d')));
    settle.writeWith(() => undefined);
    expect(state.files.get('m', 'd')?.assetId).toBe('id-d');
  });
});
