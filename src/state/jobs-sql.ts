/** The queue's larger statements; every time is a bound parameter, never SQL's own clock. */

// SQLite evaluates every SET expression against the row as it was before the
// update, so the CASEs below all see the old state.
export const enqueue = `
  INSERT INTO jobs (mapping, path, state, reason, generation, first_event_at, run_at, created_at, updated_at)
  VALUES (@mapping, @path, 'queued', @reason, 1, @now, @due, @now, @now)
  ON CONFLICT (mapping, path) DO UPDATE SET
    generation = generation + 1,
    reason = CASE WHEN @weak = 1 AND state = 'queued' THEN reason ELSE excluded.reason END,
    updated_at = @now,
    first_event_at = CASE WHEN state = 'failed' THEN @now ELSE coalesce(first_event_at, @now) END,
    run_at = CASE
      WHEN state = 'failed' THEN @due
      -- a job in back-off keeps its delay: an event must not make us hammer a failing server
      WHEN state = 'queued' AND attempts > 0 THEN max(run_at, min(@due, coalesce(first_event_at, @now) + @maxWait))
      ELSE min(@due, coalesce(first_event_at, @now) + @maxWait) END,
    attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END,
    failed_at = CASE WHEN state = 'failed' THEN NULL ELSE failed_at END,
    state = CASE WHEN state = 'failed' THEN 'queued' ELSE state END
  WHERE state <> 'failed' OR @revive = 1`;

// The asset id for a new asset is chosen by the claim itself (new_asset_id(), a
// function JobQueue registers on its connection), so it is durable with the claim's
// commit at no statement of its own; a job that has one keeps it.
export const claim = `
  UPDATE jobs SET state = 'running', claims = claims + 1, token = @token || ':' || (claims + 1),
    asset_hint = coalesce(asset_hint, new_asset_id()),
    lease_until = @now + @lease, attempts = attempts + 1, claimed_gen = generation,
    first_event_at = NULL, updated_at = @now
  WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= @now
               AND mapping NOT IN (SELECT value FROM json_each(@exclude)) ORDER BY run_at, id LIMIT @limit)
  RETURNING id, mapping, path, generation, attempts, token, reason, asset_hint AS assetHint`;

// Frees running rows: all of them at open (their process is gone), or only
// expired leases. A row whose attempts are spent fails instead, so a path that
// kills the process every time cannot crash-loop the daemon.
export const releaseRunning = `
  UPDATE jobs SET
    state = CASE WHEN attempts >= @max THEN 'failed' ELSE 'queued' END,
    failed_at = CASE WHEN attempts >= @max THEN @now ELSE NULL END,
    last_error = CASE WHEN attempts >= @max THEN @spent || ' (' || attempts || ' attempts)' ELSE @message END,
    last_code = @code,
    fail_kind = CASE WHEN attempts >= @max THEN 'file' ELSE fail_kind END,
    token = NULL, lease_until = NULL, claimed_gen = NULL, run_at = min(run_at, @now), updated_at = @now
  WHERE state = 'running' AND (@all = 1 OR lease_until <= @now)`;

/**
 * Rows failed by earlier versions because Squidex was away or refused us (the
 * codes of transient and global failures): no file's fault, so queued again with
 * fresh attempts. Rows failed from this version on carry fail_kind and stay.
 */
export const reviveLegacy = `
  UPDATE jobs SET state = 'queued', attempts = 0, run_at = @now, first_event_at = @now, failed_at = NULL,
    generation = generation + 1, updated_at = @now
  WHERE state = 'failed' AND fail_kind IS NULL
    AND last_code IN ('NETWORK', 'TIMEOUT', 'SERVER_ERROR', 'RATE_LIMITED', 'AUTH_FAILED', 'FORBIDDEN', 'TLS', 'PROXY_ERROR')`;

// An event arrived during the run: run exactly once more, at the time those events asked for.
export const requeueAfterRun = `
  UPDATE jobs SET state = 'queued', token = NULL, lease_until = NULL, claimed_gen = NULL, attempts = 0, asset_hint = NULL,
    last_error = NULL, last_code = NULL, updated_at = @now
  WHERE id = @id AND token = @token AND state = 'running'`;

// The worker asked to look again later (a delete held for the move window, a file that changed mid-upload).
export const rerun = `
  UPDATE jobs SET state = 'queued', token = NULL, lease_until = NULL, attempts = 0, last_error = NULL, last_code = NULL, asset_hint = NULL,
    run_at = CASE WHEN generation <> claimed_gen THEN min(run_at, @due) ELSE @due END, claimed_gen = NULL, updated_at = @now
  WHERE id = @id AND token = @token AND state = 'running'`;

// Graceful shutdown aborted the run: not the file's fault, so the attempt is given back.
export const giveBack = `
  UPDATE jobs SET state = 'queued', token = NULL, lease_until = NULL, claimed_gen = NULL,
    attempts = max(attempts - 1, 0), run_at = @now, updated_at = @now
  WHERE id = @id AND token = @token AND state = 'running'`;

export const retry = `
  UPDATE jobs SET state = 'queued', token = NULL, lease_until = NULL, claimed_gen = NULL,
    attempts = @attempts, run_at = @runAt, last_error = @message, last_code = @code, updated_at = @now
  WHERE id = @id`;

export const fail = `
  UPDATE jobs SET state = 'failed', token = NULL, lease_until = NULL, claimed_gen = NULL,
    last_error = @message, last_code = @code, failed_at = @now, updated_at = @now, fail_kind = 'file'
  WHERE id = @id`;
