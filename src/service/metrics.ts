import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type UploadKind = 'new' | 'replace';
export type WatcherMode = 'events' | 'poll' | 'rescan';
export interface QueueDepth {
  queued: number;
  running: number;
  failed: number;
}

export interface MetricsOptions {
  /** Node process metrics (memory, event loop lag, GC, open fds). Default true. */
  processMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  /** Content type of `text()`: Prometheus text exposition 0.0.4. */
  readonly contentType: string;
  recordUpload(kind: UploadKind, bytes: number): void;
  /** `code` is the SyncError code (HTTP_413, AUTH_INVALID_CLIENT, …): a small, fixed set, so fit for a label. */
  recordFailure(code: string): void;
  recordRetry(): void;
  /** tus bytes: every byte a PATCH sent, bytes a resume found already on the server, and bytes sent a second time. */
  recordTusBytes(kind: 'sent' | 'resumed' | 'again', bytes: number): void;
  /** `at` in ms since the epoch (the project's Clock unit); exported in seconds. */
  recordSuccess(at: number): void;
  setRescanDuration(mapping: string, seconds: number): void;
  setWatcherMode(mapping: string, mode: WatcherMode): void;
  setPaused(mapping: string, paused: boolean): void;
  setHeldDeletes(mapping: string, count: number): void;
  /** Read at scrape time, so the queue gauge is never stale and the daemon need not push counts. */
  setQueueDepthSource(source: (() => QueueDepth) | undefined): void;
  /** What Squidex does now, read at scrape time: answering, unreachable, refused (credentials), paused (it asked us to wait). */
  setSquidexSource(source: (() => { state: SquidexState; since?: number }) | undefined): void;
  /** Requests to Squidex allowed at once (moved by `auto`), or the uploads a pinned `sync.concurrency` allows, read at scrape time. */
  setConcurrencySource(source: (() => Concurrency) | undefined): void;
  text(): Promise<string>;
}

/** `mode` auto: `limit` is what the limiter allows now; pinned: the configured number. */
export interface Concurrency {
  mode: 'auto' | 'pinned';
  limit: number;
  inFlight?: number;
}

const PREFIX = 'squidex_sync_';
const MODES: readonly WatcherMode[] = ['events', 'poll', 'rescan'];
export type SquidexState = 'answering' | 'unreachable' | 'refused' | 'paused';
const SQUIDEX_STATES: readonly SquidexState[] = ['answering', 'unreachable', 'refused', 'paused'];

/**
 * Every call makes its own Registry (never prom-client's global one), so tests
 * and a daemon restarted in-process can create as many as they like without
 * "metric already registered" errors.
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  // Event-loop lag sampled once a second, not every 10 ms (prom-client's default):
  // that timer alone would wake an idle daemon a hundred times a second.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: PREFIX, eventLoopMonitoringPrecision: 1000 });
  const registers = [registry];

  const uploads = new Counter({
    name: `${PREFIX}uploads_total`,
    help: 'Files uploaded to Squidex, by kind (new asset or replaced content).',
    labelNames: ['kind'] as const,
    registers,
  });
  const uploadBytes = new Counter({
    name: `${PREFIX}upload_bytes_total`,
    help: 'Bytes of file content uploaded to Squidex.',
    registers,
  });
  const failures = new Counter({
    name: `${PREFIX}failures_total`,
    help: 'Failed sync attempts, by error code.',
    labelNames: ['kind'] as const,
    registers,
  });
  const retries = new Counter({
    name: `${PREFIX}retries_total`,
    help: 'Jobs put back in the queue to be tried again.',
    registers,
  });
  // Three counters, not one with a label: "sent" includes "sent again", so a sum over labels would mean nothing.
  const tusSent = new Counter({
    name: `${PREFIX}tus_sent_bytes_total`,
    help: 'Bytes sent in tus PATCHes (resumable uploads of big files), sent-again bytes included.',
    registers,
  });
  const tusResumed = new Counter({
    name: `${PREFIX}tus_resumed_bytes_total`,
    help: 'Bytes a resumed tus upload found on the server already, and did not send again.',
    registers,
  });
  const tusAgain = new Counter({
    name: `${PREFIX}tus_sent_again_bytes_total`,
    help: 'Bytes of tus uploads sent a second time (a piece cut off, an upload the server lost or let expire).',
    registers,
  });
  const lastSuccess = new Gauge({
    name: `${PREFIX}last_success_timestamp_seconds`,
    help: 'Unix time of the last successful sync of a file.',
    registers,
  });
  const rescan = new Gauge({
    name: `${PREFIX}rescan_duration_seconds`,
    help: 'Duration of the last full rescan of a mapping.',
    labelNames: ['mapping'] as const,
    registers,
  });
  let queueSource: (() => QueueDepth) | undefined;
  new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: 'Jobs in the queue, by state.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      if (!queueSource) return;
      const d = queueSource();
      this.set({ state: 'queued' }, d.queued);
      this.set({ state: 'running' }, d.running);
      this.set({ state: 'failed' }, d.failed);
    },
  });
  let squidexSource: (() => { state: SquidexState; since?: number }) | undefined;
  new Gauge({
    name: `${PREFIX}squidex_state`,
    help: '1 for what Squidex does now: answering, unreachable, refused (our credentials) or paused (it asked us to wait). Files meanwhile wait as queued.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      if (!squidexSource) return;
      const now = squidexSource().state;
      for (const s of SQUIDEX_STATES) this.set({ state: s }, s === now ? 1 : 0);
    },
  });
  new Gauge({
    name: `${PREFIX}squidex_unreachable_since_timestamp_seconds`,
    help: 'Unix time since which Squidex has not answered (or refused us); 0 while it answers.',
    registers,
    collect() {
      if (!squidexSource) return;
      const since = squidexSource().since;
      this.set(since === undefined ? 0 : since / 1000);
    },
  });
  let concurrencySource: (() => Concurrency) | undefined;
  new Gauge({
    name: `${PREFIX}concurrency_limit`,
    help: 'Requests to Squidex allowed at once, found by sync.concurrency: auto (mode="auto"); or uploads allowed at once, the pinned number (mode="pinned"), with folders and stamps beside.',
    labelNames: ['mode'] as const,
    registers,
    collect() {
      if (!concurrencySource) return;
      const c = concurrencySource();
      this.reset();
      this.set({ mode: c.mode }, c.limit);
    },
  });
  new Gauge({
    name: `${PREFIX}requests_in_flight`,
    help: 'Requests to Squidex in flight now (sync.concurrency: auto only).',
    registers,
    collect() {
      const n = concurrencySource?.().inFlight;
      if (n !== undefined) this.set(n);
    },
  });
  const watcher = new Gauge({
    name: `${PREFIX}watcher_mode`,
    help: 'How each mapping is watched: 1 for the current mode (events, poll or rescan-only fallback).',
    labelNames: ['mapping', 'mode'] as const,
    registers,
  });
  const paused = new Gauge({
    name: `${PREFIX}paused`,
    help: '1 when uploads of a mapping are paused.',
    labelNames: ['mapping'] as const,
    registers,
  });
  const held = new Gauge({
    name: `${PREFIX}held_deletes`,
    help: 'Files gone locally whose deletion is held (move window or delete guard), per mapping.',
    labelNames: ['mapping'] as const,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,
    recordUpload(kind, bytes) {
      uploads.inc({ kind });
      if (bytes > 0) uploadBytes.inc(bytes);
    },
    recordFailure(code) {
      failures.inc({ kind: code });
    },
    recordRetry() {
      retries.inc();
    },
    recordTusBytes(kind, bytes) {
      if (bytes <= 0) return;
      (kind === 'sent' ? tusSent : kind === 'resumed' ? tusResumed : tusAgain).inc(bytes);
    },
    recordSuccess(at) {
      lastSuccess.set(at / 1000);
    },
    setRescanDuration(mapping, seconds) {
      rescan.set({ mapping }, seconds);
    },
    setWatcherMode(mapping, mode) {
      // One series per mapping: drop the mode it had before, or a switch to poll would show both.
      for (const m of MODES) if (m !== mode) watcher.remove({ mapping, mode: m });
      watcher.set({ mapping, mode }, 1);
    },
    setPaused(mapping, value) {
      paused.set({ mapping }, value ? 1 : 0);
    },
    setHeldDeletes(mapping, count) {
      held.set({ mapping }, count);
    },
    setQueueDepthSource(source) {
      queueSource = source;
    },
    setSquidexSource(source) {
      squidexSource = source;
    },
    setConcurrencySource(source) {
      concurrencySource = source;
    },
    text() {
      return registry.metrics();
    },
  };
}
