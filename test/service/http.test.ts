import { afterEach, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { FakeClock } from '../../src/lib/clock.js';
import { HealthTracker } from '../../src/service/health.js';
import { startHttpServer, type HttpServer } from '../../src/service/http.js';
import { createMetrics } from '../../src/service/metrics.js';

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(health: HealthTracker, metrics = createMetrics(), status: () => unknown = () => ({ mappings: [] })) {
  const s = await startHttpServer({ port: 0, health: () => health.health(), status, metrics });
  servers.push(s);
  return s;
}

describe('status endpoint', () => {
  it('listens on 127.0.0.1 by default', async () => {
    const s = await start(new HealthTracker());
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('refuses an empty host, which Node would read as every interface', async () => {
    const tracker = new HealthTracker();
    await expect(
      startHttpServer({ host: '', port: 0, health: () => tracker.health(), status: () => ({}), metrics: createMetrics() }),
    ).rejects.toMatchObject({ code: 'HTTP_BAD_HOST' });
  });

  it('reports a port in use as a typed error', async () => {
    const s = await start(new HealthTracker());
    const port = Number(new URL(s.url).port);
    const tracker = new HealthTracker();
    await expect(
      startHttpServer({ port, health: () => tracker.health(), status: () => ({}), metrics: createMetrics() }),
    ).rejects.toMatchObject({ code: 'HTTP_LISTEN' });
  });

  it('GET /health is 200 while healthy and flips to 503 with the reason when Squidex is down', async () => {
    const clock = new FakeClock();
    const tracker = new HealthTracker({ clock, reachableWithinMs: 5 * 60_000 });
    tracker.watcherRunning('Marketing', true, 'events');
    tracker.serverReachable(clock.now());
    const s = await start(tracker);

    let res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });

    clock.advance(6 * 60_000);
    tracker.serverUnreachable(clock.now(), 'connect ECONNREFUSED 127.0.0.1:5000');
    res = await fetch(`${s.url}/health`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ok: boolean; reasons: string[] };
    expect(body.ok).toBe(false);
    expect(body.reasons.join(' ')).toContain('ECONNREFUSED');

    tracker.serverReachable(clock.now());
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
  });

  it('GET /metrics is Prometheus text a parser reads, with every sync metric', async () => {
    const metrics = createMetrics();
    metrics.recordUpload('new', 1000);
    metrics.recordUpload('replace', 24);
    metrics.recordFailure('HTTP_413');
    metrics.recordFailure('HTTP_413');
    metrics.recordRetry();
    metrics.recordSuccess(1_700_000_000_000);
    metrics.setRescanDuration('Marketing', 1.5);
    metrics.setWatcherMode('Marketing', 'events');
    metrics.setWatcherMode('Marketing', 'poll');
    metrics.setPaused('Marketing', true);
    metrics.setHeldDeletes('Marketing', 3);
    metrics.setQueueDepthSource(() => ({ queued: 7, running: 2, failed: 1 }));
    const s = await start(new HealthTracker(), metrics);

    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheusTextFormat(await res.text()) as Family[];
    const byName = new Map(families.map((f) => [f.name, f]));
    const value = (name: string, labels: Record<string, string> = {}): number | undefined => {
      const m = byName.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
      return m?.value === undefined ? undefined : Number(m.value);
    };

    expect(value('squidex_sync_uploads_total', { kind: 'new' })).toBe(1);
    expect(value('squidex_sync_uploads_total', { kind: 'replace' })).toBe(1);
    expect(value('squidex_sync_upload_bytes_total')).toBe(1024);
    expect(value('squidex_sync_failures_total', { kind: 'HTTP_413' })).toBe(2);
    expect(value('squidex_sync_retries_total')).toBe(1);
    expect(value('squidex_sync_last_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(value('squidex_sync_rescan_duration_seconds', { mapping: 'Marketing' })).toBe(1.5);
    expect(value('squidex_sync_queue_jobs', { state: 'queued' })).toBe(7);
    expect(value('squidex_sync_queue_jobs', { state: 'running' })).toBe(2);
    expect(value('squidex_sync_queue_jobs', { state: 'failed' })).toBe(1);
    // A mode switch leaves one series per mapping.
    expect(byName.get('squidex_sync_watcher_mode')?.metrics).toEqual([
      expect.objectContaining({ labels: { mapping: 'Marketing', mode: 'poll' }, value: '1' }),
    ]);
    expect(value('squidex_sync_paused', { mapping: 'Marketing' })).toBe(1);
    expect(value('squidex_sync_held_deletes', { mapping: 'Marketing' })).toBe(3);
    expect(byName.get('squidex_sync_uploads_total')?.type).toBe('COUNTER');
    // Node process metrics carry the prefix.
    expect([...byName.keys()].some((n) => n.startsWith('squidex_sync_process_') || n.startsWith('squidex_sync_nodejs_'))).toBe(true);
  });

  it('many metric sets can live side by side (no global registry)', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.recordRetry();
    expect(await a.text()).toContain('squidex_sync_retries_total 1');
    expect(await b.text()).toContain('squidex_sync_retries_total 0');
  });

  it('GET /status is the JSON of status(); other paths 404, other methods 405', async () => {
    const status = { mappings: [{ name: 'Marketing', inSync: 10, pending: 2, failed: 0 }], paused: false };
    const s = await start(new HealthTracker(), createMetrics(), () => status);
    const res = await fetch(`${s.url}/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(status);

    expect((await fetch(`${s.url}/nope`)).status).toBe(404);
    const post = await fetch(`${s.url}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('a failing status() answers 500 and the server keeps serving', async () => {
    const s = await start(new HealthTracker(), createMetrics(), () => {
      throw new Error('database is locked');
    });
    expect((await fetch(`${s.url}/status`)).status).toBe(500);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
  });
});
