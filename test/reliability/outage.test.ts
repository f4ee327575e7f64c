/**
 * Issue 13: Squidex away (stopped, behind a proxy answering 503 pages, refusing
 * the credentials) is a state of the daemon, not of each file. Nothing turns
 * into a permanent failure that is not one, and nothing needs `retry`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitForAsync } from '../support/service.js';
import { waitFor, World, type Daemon } from '../support/world.js';
import { mirror, sleep, waitMirror } from '../support/reliability.js';

let worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds) await w.close();
  worlds = [];
});

async function world(opts: Parameters<typeof World.create>[0]): Promise<World> {
  const w = await World.create(opts);
  worlds.push(w);
  return w;
}

/**
 * A retry budget of well under a second (3 attempts, 100 ms doubling to 400 ms):
 * any outage in these tests lasts many budgets.
 */
const SMALL_BUDGET = { stabilityMs: 200, debounceMs: 50, maxWaitMs: 1000, backoffBaseMs: 100, backoffMaxMs: 400, maxAttempts: 3 };

interface Status {
  squidex: { state: string; summary: string; reason: string | null } | null;
  totals: { pending: number; failed: number };
  failed: Array<{ path: string; code: string | null; attempts: number }>;
  pending: Array<{ path: string; attempts: number }>;
}

async function status(w: World): Promise<Status> {
  const r = await w.run(['status', '--json'], 30_000);
  return JSON.parse(r.stdout) as Status;
}

/** Log lines that spent an attempt of a file or failed it. */
function spent(d: Daemon): string[] {
  return d.lines.map((l) => String(l.msg)).filter((m) => /^(will retry|failed):/.test(m));
}

function writeBatch(w: World, dir: string, n: number): void {
  for (let i = 0; i < n; i++) w.write(`${dir}/file-${i}.txt`, `${dir} ${i}`);
}

/** Until `status` says Squidex is away and the outage has lasted past the whole retry budget. */
async function outageSeen(w: World, d: Daemon, state: string, waiting: number): Promise<Status> {
  const st = await waitForAsync(
    async () => {
      const s = await status(w);
      return s.squidex?.state === state && s.totals.pending >= waiting ? s : undefined;
    },
    30_000,
    () => d.stdout.slice(-3000),
  );
  await sleep(3000); // many times the retry budget
  return st;
}

describe('Squidex away longer than the whole retry budget', () => {
  it('stopped (connection refused): files written meanwhile wait, spend no attempt, and go up when it is back', {
    timeout: 120_000,
  }, async () => {
    const w = await world({ sync: SMALL_BUDGET });
    writeBatch(w, 'before', 5);
    const d = w.startDaemon();
    await waitMirror(w, 30_000, {}, d);

    await w.server.stopListening();
    writeBatch(w, 'during', 8);
    const seen = await outageSeen(w, d, 'unreachable', 8);
    expect(seen.squidex!.summary).toMatch(/^Squidex unreachable since \d\d:\d\d \(connection refused\); \d+ files? waiting$/);
    const during = await status(w);
    expect(during.totals.failed).toBe(0);
    expect(during.pending.length).toBeGreaterThanOrEqual(8);
    expect(during.pending.every((p) => p.attempts === 0)).toBe(true);
    const human = await w.run(['status']);
    expect(human.stdout).toMatch(/Squidex unreachable since \d\d:\d\d \(connection refused\); \d+ files? waiting/);

    await w.server.listen();
    await waitMirror(w, 30_000, {}, d);
    expect(spent(d)).toEqual([]);
    expect((await status(w)).squidex).toBeNull();
    expect(await d.stop()).toBe(0);
    mirror(w);
  });

  it('behind a proxy whose token endpoint answers 503 HTML pages: the same', { timeout: 120_000 }, async () => {
    // Tokens that lapse every two seconds: the token endpoint is asked during the outage.
    const w = await world({ sync: SMALL_BUDGET, server: { tokenLifetimeSec: 2 } });
    writeBatch(w, 'before', 3);
    const d = w.startDaemon();
    await waitMirror(w, 30_000, {}, d);

    w.server.setFaults({ forceStatus: 503, htmlErrors: true });
    const tokensBefore = w.inspect().counters.byRoute['POST /token'] ?? 0;
    writeBatch(w, 'during', 6);
    const seen = await outageSeen(w, d, 'unreachable', 6);
    expect(seen.squidex!.reason).toBe('HTTP 503');
    expect(w.inspect().counters.byRoute['POST /token'] ?? 0).toBeGreaterThan(tokensBefore);
    const during = await status(w);
    expect(during.totals.failed).toBe(0);
    expect(during.pending.every((p) => p.attempts === 0)).toBe(true);

    w.server.setFaults({ forceStatus: null, htmlErrors: false });
    await waitMirror(w, 30_000, {}, d);
    expect(spent(d)).toEqual([]);
    expect(await d.stop()).toBe(0);
    mirror(w);
  });

  it('refusing the credentials: a global pause, no file failed, resumed when they are accepted again', { timeout: 120_000 }, async () => {
    const w = await world({ sync: SMALL_BUDGET });
    writeBatch(w, 'before', 3);
    const d = w.startDaemon();
    await waitMirror(w, 30_000, {}, d);

    // Every request and the token endpoint answer 401: the client was revoked.
    w.server.setFaults({ forceStatus: 401 });
    writeBatch(w, 'during', 4);
    const seen = await outageSeen(w, d, 'refused', 4);
    expect(seen.squidex!.summary).toMatch(/^Squidex refuses our credentials since \d\d:\d\d \(credentials refused\); \d+ files? waiting$/);
    expect((await status(w)).totals.failed).toBe(0);
    await d.waitForLog((l) => /Squidex refuses us/.test(String(l.msg)));

    w.server.setFaults({ forceStatus: null });
    await waitMirror(w, 30_000, {}, d);
    expect(spent(d)).toEqual([]);
    expect(await d.stop()).toBe(0);
  });
});

describe('a file that alone makes the server fail', () => {
  it('is failed after maxAttempts counted only while Squidex answers; an outage meanwhile fails nothing; the others are not held up', {
    timeout: 120_000,
  }, async () => {
    // Back-off long enough that the outage below begins between two of bad.bin's attempts.
    const sync = { ...SMALL_BUDGET, backoffBaseMs: 400, backoffMaxMs: 1600, maxAttempts: 4 };
    const w = await world({ sync, server: { faults: { failUploadsNamed: 'bad.bin' } } });
    w.write('bad.bin', Buffer.alloc(1000, 7));
    writeBatch(w, 'first', 4);
    const d = w.startDaemon();
    await waitFor(
      () => w.inspect().counters.faults >= 1,
      30_000,
      () => d.stdout.slice(-3000),
    );

    await w.server.stopListening();
    writeBatch(w, 'during', 4);
    await outageSeen(w, d, 'unreachable', 4);
    expect((await status(w)).totals.failed).toBe(0);

    await w.server.listen();
    writeBatch(w, 'later', 4);
    const failed = await waitForAsync(
      async () => (await status(w)).failed?.find((f) => f.path === 'bad.bin'),
      30_000,
      () => d.stdout.slice(-3000),
    );
    expect(failed).toMatchObject({ code: 'SERVER_ERROR', attempts: 4 });
    await waitMirror(w, 30_000, { expectMissing: ['bad.bin'] }, d);
    expect((await status(w)).failed.map((f) => f.path)).toEqual(['bad.bin']);
    expect(spent(d).filter((m) => m.startsWith('failed:'))).toHaveLength(1);
    expect(await d.stop()).toBe(0);
  });
});

describe('a state database from the previous schema', () => {
  it('holding files failed for Squidex being away: revived at start, one log line; a file Squidex refused stays failed', {
    timeout: 120_000,
  }, async () => {
    const w = await world({ sync: SMALL_BUDGET, server: { maxUploadBytes: 1024 } });
    w.write('net.txt', 'failed by a dropped connection');
    w.write('auth.txt', 'failed while the secret was wrong');
    w.write('huge.bin', Buffer.alloc(4096, 1));
    // A state database as the previous schema wrote it (no fail_kind), with its failed rows.
    const { openState } = await import('../../src/state/index.js');
    const s = openState(w.statePath);
    const now = Date.now();
    const columns = (s.db.prepare('PRAGMA table_info(jobs)').all() as Array<{ name: string }>).map((c) => c.name);
    if (columns.includes('fail_kind')) {
      // Schema 4 (before the failure kind): what the later migrations added goes too.
      s.db.exec(
        'DROP INDEX files_missing; ALTER TABLE jobs DROP COLUMN fail_kind; DROP TABLE drift; DROP TABLE file_versions; DROP TABLE uploads; DROP TABLE annotations; DROP TABLE sidecars; ALTER TABLE kept DROP COLUMN reason',
      );
      s.db.pragma('user_version = 4');
    }
    const row =
      s.db.prepare(`INSERT INTO jobs (mapping, path, state, generation, run_at, attempts, claims, last_error, last_code, failed_at, created_at, updated_at)
      VALUES ('share', ?, 'failed', 1, ?, 10, 10, ?, ?, ?, ?, ?)`);
    row.run('net.txt', now, 'upload of "net.txt": connection to Squidex failed (ECONNREFUSED).', 'NETWORK', now, now, now);
    row.run('auth.txt', now, 'Squidex refused the client id "demo:sync" and its secret (invalid_client).', 'AUTH_FAILED', now, now, now);
    row.run(
      'huge.bin',
      now,
      'upload of "huge.bin": the file is larger than the Squidex server accepts (HTTP 413).',
      'TOO_LARGE',
      now,
      now,
      now,
    );
    s.close();

    const d = w.startDaemon();
    await waitFor(
      () => w.inspect().assets.filter((a) => !a.deleted).length === 2,
      30_000,
      () => d.stdout.slice(-3000),
    );
    // The line is written before the uploads, but the test reads the daemon's output on its own time.
    await waitFor(
      () => d.lines.some((l) => /queued again/.test(String(l.msg))),
      10_000,
      () => d.stdout.slice(-3000),
    );
    expect(d.lines.filter((l) => /queued again/.test(String(l.msg))).map((l) => l.files)).toEqual([2]);
    const st = await status(w);
    expect(st.failed.map((f) => f.path)).toEqual(['huge.bin']);
    expect(await d.stop()).toBe(0);
    mirror(w, { expectMissing: ['huge.bin'] });
  });
});

describe('a server-asked pause', () => {
  it('Retry-After: 86400 is held to sync.maxServerPauseSeconds, and status and /health say so meanwhile', {
    timeout: 120_000,
  }, async () => {
    const { freePort, endpoint } = await import('../support/service.js');
    const port = await freePort();
    const w = await world({ sync: { ...SMALL_BUDGET, maxServerPauseSeconds: 8 }, extra: { http: { port, healthProbeSeconds: 1 } } });
    w.write('a.txt', 'a');
    const d = w.startDaemon();
    await waitMirror(w, 30_000, {}, d);
    w.server.setFaults({ forceStatus: 429, retryAfterSec: 86_400 });
    w.write('b.txt', 'b');
    const st = await waitForAsync(
      async () => {
        const s = await status(w);
        return s.squidex?.state === 'paused' ? s : undefined;
      },
      30_000,
      () => d.stdout.slice(-3000),
    );
    expect(st.squidex!.summary).toMatch(/^Squidex asked us to pause until \d\d:\d\d; 1 file waiting$/);
    const health = await endpoint(port).waitHealth((s) => s === 503);
    expect(health.body.reasons?.join(' ')).toMatch(/Squidex asked us to pause until \d\d:\d\d/);
    w.server.setFaults({ forceStatus: null, retryAfterSec: null });
    // Within the test's bound, not a day: the pause was capped.
    await waitMirror(w, 40_000, {}, d);
    expect(await d.stop()).toBe(0);
  });
});
