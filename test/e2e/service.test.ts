import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, freePort, waitForAsync, withoutTiming } from '../support/service.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

/**
 * Issue 8, "Done when": the local endpoint of a real daemon (a child process
 * from dist/) — /health flips to 503 when Squidex goes away and back, /metrics
 * parses as Prometheus text with every sync metric, /status is `status --json`.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Report {
  mappings: Array<{ name: string; watcher: string | null; paused: boolean; inSync: number; failed: number }>;
  failed: Array<{ path: string; error: string | null; code: string | null }>;
  uploadingNow: unknown[];
  stampsPending: number;
}

describe('the daemon endpoint (http.port)', () => {
  it('/health is 200 while watching and reachable, 503 with the reason while Squidex is down, 200 again after', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    world = await World.create({
      // 1 KiB upload limit: huge.bin fails for good (TOO_LARGE), so failures and the failed list have content.
      server: { maxUploadBytes: 1024 },
      sync: { backoffBaseMs: 200, backoffMaxMs: 1000, maxAttempts: 50 },
      extra: { http: { port, healthProbeSeconds: 1 } },
    });
    const w = world;
    w.write('a.txt', 'hello');
    w.write('huge.bin', Buffer.alloc(4096, 1));
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const ep = endpoint(port, world!.statePath);

    const up = await ep.waitHealth((s) => s === 200);
    expect(up.body).toEqual({ ok: true });
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/a.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );
    const report = await waitForAsync(async () => {
      const r = (await ep.status()) as unknown as Report;
      return r.failed.length === 1 && r.mappings[0].inSync === 1 ? r : undefined;
    });
    expect(report.failed[0]).toMatchObject({ path: 'huge.bin', code: 'TOO_LARGE' });
    expect(report.mappings[0]).toMatchObject({ name: 'share', watcher: 'events', paused: false, inSync: 1, failed: 1 });

    // Squidex goes away: the probe (every second here) notices without any upload.
    w.server.setFaults({ down: true });
    // Changes made meanwhile wait for it (issue 13: a state of the daemon, no attempt spent), not lost.
    w.write('offline.txt', 'written while Squidex was down');
    const down = await ep.waitHealth((s) => s === 503);
    expect(down.body.ok).toBe(false);
    // The wording the README's Troubleshooting quotes.
    expect(down.body.reasons?.join(' ')).toMatch(
      /^Squidex unreachable since \d\d:\d\d \(connection (reset|failed)[^)]*\); \d+ files? waiting$/,
    );
    const away = await waitForAsync(
      async () => {
        const r = (await ep.status()) as unknown as { squidex: { state: string; summary: string } | null; totals: { pending: number } };
        return r.squidex?.state === 'unreachable' && r.totals.pending === 1 ? r : undefined;
      },
      20_000,
      () => d.stdout.slice(-2000),
    );
    expect(away.squidex!.summary).toMatch(/; 1 file waiting$/);
    const during = await ep.metrics();
    expect(during.value('squidex_sync_squidex_state', { state: 'unreachable' })).toBe(1);
    expect(during.value('squidex_sync_squidex_unreachable_since_timestamp_seconds')).toBeGreaterThan(startedAt / 1000 - 1);
    expect(during.value('squidex_sync_retries_total')).toBe(0);

    w.server.setFaults({ down: false });
    expect((await ep.waitHealth((s) => s === 200)).body).toEqual({ ok: true });
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/offline.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );

    const m = await ep.metrics();
    expect(m.value('squidex_sync_uploads_total', { kind: 'new' })).toBe(2);
    expect(m.value('squidex_sync_upload_bytes_total')).toBeGreaterThanOrEqual('hello'.length + 'written while Squidex was down'.length);
    expect(m.value('squidex_sync_failures_total', { kind: 'TOO_LARGE' })).toBeGreaterThanOrEqual(1);
    // Waiting for Squidex spent no attempt: nothing was put back to be tried again.
    expect(m.value('squidex_sync_retries_total')).toBe(0);
    expect(m.value('squidex_sync_squidex_state', { state: 'answering' })).toBe(1);
    expect(m.value('squidex_sync_squidex_unreachable_since_timestamp_seconds')).toBe(0);
    const lastSuccess = m.value('squidex_sync_last_success_timestamp_seconds')!;
    expect(lastSuccess * 1000).toBeGreaterThanOrEqual(startedAt - 1000);
    expect(lastSuccess * 1000).toBeLessThanOrEqual(Date.now() + 1000);
    expect(m.value('squidex_sync_rescan_duration_seconds', { mapping: 'share' })).toBeGreaterThanOrEqual(0);
    expect(m.series('squidex_sync_watcher_mode')).toEqual([
      expect.objectContaining({ labels: { mapping: 'share', mode: 'events' }, value: '1' }),
    ]);
    expect(m.value('squidex_sync_paused', { mapping: 'share' })).toBe(0);
    expect(m.value('squidex_sync_held_deletes', { mapping: 'share' })).toBe(0);
    expect(m.value('squidex_sync_queue_jobs', { state: 'failed' })).toBe(1);
    expect(m.value('squidex_sync_queue_jobs', { state: 'queued' })).toBe(0);
    expect(m.value('squidex_sync_queue_jobs', { state: 'running' })).toBe(0);
    expect(m.byName.get('squidex_sync_uploads_total')?.type).toBe('COUNTER');

    expect(await d.stop()).toBe(0);
  });

  it('/status has the same content as `status --json` run beside the daemon', async () => {
    const port = await freePort();
    world = await World.create({ server: { maxUploadBytes: 1024 }, extra: { http: { port } } });
    const w = world;
    w.write('one.txt', '1');
    w.write('sub/two.txt', '22');
    w.write('huge.bin', Buffer.alloc(4096, 1));
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const ep = endpoint(port, world!.statePath);
    // Quiet first (all synced, huge.bin failed, the stamps out), so both reads see the same state.
    await waitForAsync(
      async () => {
        const r = (await ep.status()) as unknown as Report;
        return r.mappings[0].inSync === 2 && r.failed.length === 1 && r.uploadingNow.length === 0 && r.stampsPending === 0;
      },
      20_000,
      () => d.stdout.slice(-2000),
    );

    const cli = await w.run(['status', '--json']);
    expect(cli.code).toBe(1); // some paths failed
    const fromCli = JSON.parse(cli.stdout) as Record<string, unknown>;
    const fromHttp = await ep.status();
    expect(withoutTiming(fromHttp)).toEqual(withoutTiming(fromCli));
    expect(fromCli).toMatchObject({ daemon: { running: true, pid: d.child.pid } });

    expect(await d.stop()).toBe(0);
    // With the daemon gone, `status` no longer claims a watcher mode.
    const after = JSON.parse((await w.run(['status', '--json'])).stdout) as Report & { daemon: { running: boolean } };
    expect(after.daemon.running).toBe(false);
    expect(after.mappings[0].watcher).toBeNull();
  });
});
