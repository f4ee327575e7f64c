import { existsSync } from 'node:fs';
import type { Config, ServerChanges } from '../config/index.js';
import { jsonForTerminal, printable, printableDeep } from '../lib/printable.js';
import { formatBytes } from '../lib/units.js';
import { openState, readLockHolder, scanned, type KeptRow, type State } from '../state/index.js';
import { guardHint, guardKey } from '../worker/deleteguard.js';
import { VERIFIED_AT, verifyStore, type DriftRow } from '../verify/store.js';
import { EXIT } from './exit.js';
import { pausedMappings, readConfig } from './runtime.js';
import { outageLine, pauseLine, readOutage } from '../worker/outage.js';
import { readConcurrency } from './pace.js';

export interface MappingStatus {
  name: string;
  local: string;
  remote: string;
  inSync: number;
  pending: number;
  uploading: number;
  failed: number;
  /** Files gone locally whose deletion is held (move window or delete guard). */
  heldDeletes: number;
  /** Why the delete guard holds this mapping's deletions, if it does. */
  guard: string | null;
  /** What to do about it (confirm-deletes, or mount the share), when the guard holds. */
  guardHint: string | null;
  /** Assets kept on the server whose local file is gone (deletes: keep). */
  keptOnServer: number;
  /** Assets kept because Squidex refused their delete: content still uses them. */
  stillUsed: number;
  paused: boolean;
  /** How the running daemon watches this mapping (events, poll, rescan-only); null when no daemon runs. */
  watcher: string | null;
}

/** meta key where the daemon records how it watches a mapping (only it knows; `status` runs apart). */
export function watcherKey(mapping: string): string {
  return `watcher:${mapping}`;
}

/** Squidex as the running daemon (or `once`) sees it; null while nothing is wrong or nothing runs. */
export interface SquidexStatus {
  /** unreachable: no proper answer; refused: our credentials refused; paused: it asked us to wait (Retry-After). */
  state: 'unreachable' | 'refused' | 'paused';
  since: number | null;
  until: number | null;
  reason: string | null;
  /** The line `status` prints: "Squidex unreachable since 14:02 (connection refused); 21 files waiting". */
  summary: string;
}

export interface StatusReport {
  daemon: { running: boolean; pid?: number };
  squidex: SquidexStatus | null;
  /** Requests to Squidex at once that `auto` found in the running process (null: none runs, or not yet known), or the pinned number of uploads at once. */
  concurrency: { mode: 'auto' | 'pinned'; limit: number | null };
  mappings: MappingStatus[];
  totals: { inSync: number; pending: number; failed: number };
  uploadingNow: Array<{ mapping: string; path: string }>;
  failed: Array<{ mapping: string; path: string; attempts: number; error: string | null; code: string | null; at: number | null }>;
  pending: Array<{ mapping: string; path: string; attempts: number; nextRunAt: number; lastError: string | null }>;
  kept: Array<{ mapping: string; path: string; assetId: string; goneSince: number }>;
  /** Gone locally, delete refused because content still uses the asset; asked again at each full rescan. */
  stillUsed: Array<{ mapping: string; path: string; assetId: string; goneSince: number }>;
  /** Files whose tags and metadata could not be written (the file itself is in sync). */
  annotationsFailed: Array<{ mapping: string; path: string; assetId: string; error: string }>;
  /** Paths never read on purpose: symlinks, FIFOs, sockets, devices, files outside the mapping, names that are not UTF-8 (bad bytes as `\xNN`). */
  skipped: Array<{ mapping: string; path: string; reason: string }>;
  /** Metadata stamps of uploaded assets not yet sent (they go out in bulk, a moment after their uploads). */
  stampsPending: number;
  /**
   * Where Squidex differs from the share: found by the daemon's verify (sync.verifyInterval) or by a
   * replace held back (sync.serverChanges: report). Unknown assets are listed, never deleted.
   */
  drift: { mode: ServerChanges; verifiedAt: number | null; total: number; items: Array<Omit<DriftRow, 'seenAt'>> };
  /** Big files going through tus: how much the server has confirmed (it lags by up to a second). */
  bigUploads: Array<{ mapping: string; path: string; confirmed: number; size: number; startedAt: number }>;
}

/** What `status` shows; also served as JSON on /status. */
export function collectStatus(state: State, config: Config): StatusReport {
  const paused = new Set(pausedMappings(state, config));
  const holder = readLockHolder(config.state);
  // The counts read the whole files table: in the daemon (/status, the webhook) its pages must not stay cached.
  const byMapping = scanned(state.db, () => state.files.stats());
  const jobStats = state.jobs.countsByMapping();
  const held = scanned(state.db, () => heldJobs(state));
  const mappings = config.mappings.map((m): MappingStatus => {
    const f = byMapping.get(m.name) ?? { inSync: 0, missing: 0, kept: 0, referenced: 0 };
    const j = jobStats.get(m.name) ?? { queued: 0, running: 0, failed: 0 };
    return {
      name: m.name,
      local: m.local,
      remote: m.remote || '/',
      inSync: f.inSync,
      pending: j.queued - (held.get(m.name) ?? 0),
      uploading: j.running,
      failed: j.failed,
      heldDeletes: f.missing,
      guard: state.meta.get(guardKey(m.name)) ?? null,
      guardHint: guardHintFor(m, state.meta.get(guardKey(m.name))),
      keptOnServer: f.kept,
      stillUsed: f.referenced,
      paused: paused.has(m.name),
      // A mode left behind by a daemon that is gone says nothing about now.
      watcher: holder !== null ? (state.meta.get(watcherKey(m.name)) ?? null) : null,
    };
  });
  const pendingJobs = state.jobs.pending(200);
  const waiting = mappings.reduce((n, m) => n + m.pending + m.uploading, 0);
  return {
    daemon: { running: holder !== null, pid: holder?.pid },
    squidex: holder !== null ? squidexStatus(state, waiting) : null,
    concurrency: readConcurrency(state, config, holder !== null),
    mappings,
    totals: {
      inSync: mappings.reduce((n, m) => n + m.inSync, 0),
      pending: mappings.reduce((n, m) => n + m.pending + m.uploading, 0),
      failed: mappings.reduce((n, m) => n + m.failed, 0),
    },
    uploadingNow: pendingJobs.filter((j) => j.state === 'running').map((j) => ({ mapping: j.mapping, path: j.path })),
    failed: state.jobs
      .failed(200)
      .map((j) => ({ mapping: j.mapping, path: j.path, attempts: j.attempts, error: j.lastError, code: j.code, at: j.failedAt })),
    pending: pendingJobs
      .filter((j) => j.state === 'queued' && state.files.get(j.mapping, j.path)?.missingSince == null)
      .map((j) => ({ mapping: j.mapping, path: j.path, attempts: j.attempts, nextRunAt: j.runAt, lastError: j.lastError })),
    kept: state.files.kept(200).map(plain),
    stillUsed: state.kept.list('referenced', 200).map(plain),
    annotationsFailed: state.annotations.failed(200),
    skipped: state.skipped.list(200).map((k) => ({ mapping: k.mapping, path: k.path, reason: k.reason })),
    stampsPending: state.stamps.count(),
    drift: collectDrift(state, config),
    bigUploads: state.uploads
      .list(200)
      .map((u) => ({ mapping: u.mapping, path: u.path, confirmed: u.confirmed, size: u.size, startedAt: u.startedAt })),
  };
}

/**
 * Queued jobs per mapping of files seen gone: deletions waiting for the move window
 * (or the start rescan, or the rest of their deletion), shown as held, not as pending.
 */
function heldJobs(state: State): Map<string, number> {
  // The few missing rows drive the join (jobs by their (mapping, path) index), never the whole queue.
  const rows = state.db
    .prepare(
      `SELECT f.mapping AS mapping, count(*) AS n FROM files AS f CROSS JOIN jobs AS j
       WHERE f.missing_since IS NOT NULL AND j.mapping = f.mapping AND j.path = f.path AND j.state = 'queued'
       GROUP BY f.mapping`,
    )
    .all() as Array<{ mapping: string; n: number }>;
  return new Map(rows.map((r) => [r.mapping, r.n]));
}

function squidexStatus(state: State, waiting: number): SquidexStatus | null {
  const o = readOutage(state);
  if (o)
    return {
      state: o.kind === 'refused' ? 'refused' : 'unreachable',
      since: o.since,
      until: null,
      reason: o.reason,
      summary: outageLine(o, waiting),
    };
  const until = state.jobs.pausedUntil();
  if (until > Date.now()) return { state: 'paused', since: null, until, reason: 'Retry-After', summary: pauseLine(until, waiting) };
  return null;
}

function collectDrift(state: State, config: Config): StatusReport['drift'] {
  const store = verifyStore(state.db);
  const at = Number(state.meta.get(VERIFIED_AT) ?? NaN);
  const items = store.listDrift(200).map(({ seenAt: _seenAt, ...d }) => d);
  return {
    mode: config.sync.serverChanges,
    verifiedAt: Number.isFinite(at) ? at : null,
    total: [...store.countDrift().values()].reduce((a, b) => a + b, 0),
    items,
  };
}

export async function status(configFile: string, opts: { json: boolean }): Promise<number> {
  const config = readConfig(configFile, 'allow', 'unused');
  if (!existsSync(config.state)) {
    const empty = { daemon: { running: false }, mappings: [], note: `no state yet at ${config.state}: run squidex-sync once or start` };
    console.log(opts.json ? JSON.stringify(empty, null, 2) : printable(empty.note));
    return EXIT.OK;
  }
  // Read beside a running daemon: no lock, and no recovery of its running jobs.
  const state = openState(config.state, { recover: false });
  try {
    const report = collectStatus(state, config);
    // Paths and error texts come from the share and the server: escaped before they meet a terminal.
    console.log(opts.json ? jsonForTerminal(JSON.stringify(report, null, 2)) : formatStatus(printableDeep(report)));
    // Held deletions are not "in sync" either (the same rule as `once`).
    return report.totals.failed > 0 || report.mappings.some((m) => m.guard) ? EXIT.FAILED_PATHS : EXIT.OK;
  } finally {
    state.close();
  }
}

/** Longer mapping names are cut in the table (it must fit 100 columns) and given whole below it. */
const NAME_WIDTH = 30;

function guardHintFor(m: { name: string; local: string }, reason: string | undefined): string | null {
  return reason === undefined ? null : guardHint(m, reason);
}

function concurrencyLine(c: StatusReport['concurrency']): string {
  if (c.mode === 'pinned') return `uploads at once: ${c.limit} (pinned by sync.concurrency)`;
  return c.limit === null ? 'requests at once: auto (found while syncing)' : `requests at once: ${c.limit} (auto, found while syncing)`;
}

function formatStatus(r: StatusReport): string {
  const lines: string[] = [];
  lines.push(r.daemon.running ? `daemon: running (pid ${r.daemon.pid})` : 'daemon: not running');
  if (r.squidex) lines.push(r.squidex.summary);
  lines.push(concurrencyLine(r.concurrency));
  lines.push('');
  // Counts only, so the table fits 100 columns; the folders, which can be long, follow below it.
  const header = ['mapping', 'in sync', 'pending', 'uploading', 'failed', 'held', 'kept', 'watch', 'state'];
  const rows = r.mappings.map((m) => [
    m.name.length > NAME_WIDTH ? `${m.name.slice(0, NAME_WIDTH - 1)}…` : m.name,
    String(m.inSync),
    String(m.pending),
    String(m.uploading),
    String(m.failed),
    String(m.heldDeletes),
    String(m.keptOnServer),
    m.watcher ?? '-',
    [m.paused ? 'paused' : '', m.guard ? 'guarded' : ''].filter(Boolean).join(', '),
  ]);
  lines.push(...table([header, ...rows], [1, 2, 3, 4, 5, 6]));
  lines.push(
    '',
    'held: deletions waiting (the move window, the other files of their deletion, or the delete guard: state "guarded", see below)',
  );
  lines.push('kept: gone locally, kept on the server (deletes: keep)', '', 'folders:');
  for (const m of r.mappings) lines.push(`  ${m.name}: ${m.local} → ${m.remote}`);
  for (const m of r.mappings) {
    if (m.guard) lines.push('', `${m.name}: deletions held because ${m.guard}.`, `  ${m.guardHint ?? ''}`);
  }
  if (r.mappings.some((m) => m.paused)) {
    lines.push('', 'paused: uploads wait, changes are still recorded (run `squidex-sync resume` to go on)');
  }
  if (r.uploadingNow.length > 0) {
    // The daemon claims a burst of small files ahead of its worker slots: these are in flight or next.
    const shown = r.uploadingNow.slice(0, 10).map((j) => `  ${j.mapping}: ${j.path}`);
    if (r.uploadingNow.length > 10) shown.push(`  … and ${r.uploadingNow.length - 10} more`);
    lines.push('', 'uploading now or next:', ...shown);
  }
  if (r.bigUploads.length > 0) {
    lines.push('', 'big files, uploaded in pieces (they resume where the server is after a stop or a dropped link):');
    for (const u of r.bigUploads) lines.push(`  ${u.mapping}: ${u.path}: ${formatBytes(u.confirmed)} of ${formatBytes(u.size)}, resumable`);
  }
  if (r.stampsPending > 0) lines.push('', `metadata stamps waiting to go out: ${r.stampsPending}`);
  const retrying = r.pending.filter((p) => p.lastError);
  if (retrying.length > 0) {
    lines.push('', 'waiting to be tried again:');
    for (const p of retrying) lines.push(`  ${p.mapping}: ${p.path}`, `      ${p.lastError} (after ${attempts(p.attempts)})`);
  }
  if (r.failed.length > 0) {
    lines.push('', 'failed (run `squidex-sync retry` to try again):');
    for (const f of r.failed)
      lines.push(`  ${f.mapping}: ${f.path}`, `      ${f.error ?? f.code ?? 'unknown error'} (after ${attempts(f.attempts)})`);
  }
  if (r.kept.length > 0) {
    lines.push('', 'gone locally, kept on the server (deletes: keep):');
    for (const k of r.kept) lines.push(`  ${k.mapping}: ${k.path}`, `      asset ${k.assetId}`);
  }
  if (r.stillUsed.length > 0) {
    lines.push('', 'kept: still used by content (Squidex refused the delete; asked again at the next full rescan):');
    for (const k of r.stillUsed) lines.push(`  ${k.mapping}: ${k.path}`, `      asset ${k.assetId}`);
  }
  if (r.annotationsFailed.length > 0) {
    lines.push('', 'tags and metadata not written (the files themselves are in sync):');
    for (const a of r.annotationsFailed) lines.push(`  ${a.mapping}: ${a.path}`, `      asset ${a.assetId}: ${a.error}`);
  }
  if (r.skipped.length > 0) {
    lines.push('', 'skipped, not a regular file inside the mapping or a name that is not UTF-8 (never read):');
    for (const k of r.skipped) lines.push(`  ${k.mapping}: ${k.path} (${k.reason})`);
  }
  lines.push(...formatDrift(r.drift));
  return lines.join('\n');
}

function plain({ mapping, path, assetId, goneSince }: KeptRow): StatusReport['kept'][number] {
  return { mapping, path, assetId, goneSince };
}

function formatDrift(d: StatusReport['drift']): string[] {
  const changed = d.items.filter((i) => i.kind !== 'unknown');
  const unknown = d.items.filter((i) => i.kind === 'unknown');
  const lines: string[] = [];
  if (changed.length > 0) {
    const when = d.verifiedAt === null ? '' : ` (last verify ${new Date(d.verifiedAt).toISOString()})`;
    lines.push(
      '',
      d.mode === 'restore'
        ? `changed in Squidex, and the daemon could not put it back${when}; its log says why:`
        : `changed in Squidex, left as it is${when}; \`squidex-sync verify --repair\` puts the share's version back:`,
    );
    for (const i of changed) lines.push(`  ${i.mapping}: ${i.path}`, `      ${i.kind}: ${i.detail} (asset ${i.assetId})`);
  }
  if (unknown.length > 0) {
    lines.push('', 'in mapped asset folders, not from the share (never deleted):');
    for (const i of unknown) lines.push(`  ${i.mapping}: ${i.path} (asset ${i.assetId})`);
  }
  if (d.total > d.items.length) lines.push(`  … and ${d.total - d.items.length} more`);
  return lines;
}

function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

/** Columns padded to their widest cell; the `right` ones (counts) aligned right. */
function table(rows: string[][], right: number[] = []): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((c, i) => (right.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}
