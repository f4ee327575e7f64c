import type Database from 'better-sqlite3';

/** A path inside a mapping; the CLI turns absolute local paths into these. */
export interface PathRef {
  mapping: string;
  path: string;
}

export interface JobCounts {
  queued: number;
  running: number;
  failed: number;
  /** Queued and due now (the rest wait for debounce or back-off). */
  due: number;
}

export interface PendingJob {
  mapping: string;
  path: string;
  state: 'queued' | 'running';
  reason: string | null;
  attempts: number;
  runAt: number;
  lastError: string | null;
  lastCode: string | null;
}

export interface FailedJob {
  mapping: string;
  path: string;
  attempts: number;
  lastError: string | null;
  code: string | null;
  failedAt: number | null;
}

/** The read side for `status`, plus re-queue and the invariant check. */
export class QueueReports {
  private readonly sCounts;
  private readonly sPending;
  private readonly sFailed;
  private readonly sRequeueAll;
  private readonly sRequeueOne;
  private readonly sByMapping;
  private readonly sQueuedExcept;

  constructor(private readonly db: Database.Database) {
    this.sCounts = db.prepare(`
      SELECT coalesce(sum(state = 'queued'), 0) AS queued, coalesce(sum(state = 'running'), 0) AS running,
             coalesce(sum(state = 'failed'), 0) AS failed, coalesce(sum(state = 'queued' AND run_at <= ?), 0) AS due
      FROM jobs`);
    this.sPending = db.prepare(`
      SELECT mapping, path, state, reason, attempts, run_at AS runAt, last_error AS lastError, last_code AS lastCode
      FROM jobs WHERE state IN ('queued', 'running') ORDER BY state = 'queued', run_at, id LIMIT ?`);
    this.sFailed = db.prepare(`
      SELECT mapping, path, attempts, last_error AS lastError, last_code AS code, failed_at AS failedAt
      FROM jobs WHERE state = 'failed' ORDER BY failed_at DESC, id LIMIT ?`);
    this.sByMapping = db.prepare(`
      SELECT mapping, sum(state = 'queued') AS queued, sum(state = 'running') AS running, sum(state = 'failed') AS failed
      FROM jobs GROUP BY mapping`);
    this.sQueuedExcept = db
      .prepare(`SELECT count(*) FROM jobs WHERE state = 'queued' AND mapping NOT IN (SELECT value FROM json_each(?))`)
      .pluck();
    const set = `SET state = 'queued', attempts = 0, run_at = @now, first_event_at = @now, failed_at = NULL,
      generation = generation + 1, updated_at = @now`;
    this.sRequeueAll = db.prepare(`UPDATE jobs ${set} WHERE state = 'failed'`);
    this.sRequeueOne = db.prepare(`UPDATE jobs ${set} WHERE state = 'failed' AND mapping = @mapping AND path = @path`);
  }

  counts(now: number): JobCounts {
    return this.sCounts.get(now) as JobCounts;
  }

  countsByMapping(): Map<string, { queued: number; running: number; failed: number }> {
    const rows = this.sByMapping.all() as { mapping: string; queued: number; running: number; failed: number }[];
    return new Map(rows.map(({ mapping, ...c }) => [mapping, c]));
  }

  countQueued(excludeJson: string): number {
    return this.sQueuedExcept.get(excludeJson) as number;
  }

  pending(limit: number): PendingJob[] {
    return this.sPending.all(limit) as PendingJob[];
  }

  failed(limit: number): FailedJob[] {
    return this.sFailed.all(limit) as FailedJob[];
  }

  requeueFailed(now: number, paths?: readonly PathRef[]): number {
    return this.db
      .transaction(() => {
        if (!paths) return this.sRequeueAll.run({ now }).changes;
        let n = 0;
        for (const p of paths) n += this.sRequeueOne.run({ now, mapping: p.mapping, path: p.path }).changes;
        return n;
      })
      .immediate();
  }

  /**
   * Invariants the queue code keeps; a violation means a bug or a damaged
   * file. Each query reads the table itself (NOT INDEXED where it matters) so
   * a broken index cannot hide the problem it guards.
   */
  check(): string[] {
    const problems: string[] = [];
    const q = (sql: string) => this.db.prepare(sql).all() as { mapping: string; path: string; n?: number }[];
    const add = (what: string, rows: { mapping: string; path: string; n?: number }[]) => {
      for (const r of rows.slice(0, 20)) problems.push(`jobs: ${what}: ${r.mapping}:${r.path}${r.n ? ` (${r.n} rows)` : ''}`);
      if (rows.length > 20) problems.push(`jobs: ${what}: … and ${rows.length - 20} more`);
    };
    add('more than one row for a path', q(`SELECT mapping, path, count(*) AS n FROM jobs NOT INDEXED GROUP BY mapping, path HAVING n > 1`));
    add(
      'running without token, lease or claimed generation',
      q(`SELECT mapping, path FROM jobs WHERE state = 'running' AND (token IS NULL OR lease_until IS NULL OR claimed_gen IS NULL)`),
    );
    add(
      'not running but holds a token or lease',
      q(`SELECT mapping, path FROM jobs WHERE state <> 'running' AND (token IS NULL) + (lease_until IS NULL) < 2`),
    );
    add(
      'failed without an error or time',
      q(`SELECT mapping, path FROM jobs WHERE state = 'failed' AND (last_error IS NULL OR failed_at IS NULL)`),
    );
    add('claimed generation ahead of the row', q(`SELECT mapping, path FROM jobs WHERE claimed_gen > generation`));
    add('attempts above claims', q(`SELECT mapping, path FROM jobs WHERE attempts > claims`));
    return problems;
  }
}
