import type { StatusReport } from '../cli/status.js';
import type { Activity } from './activity.js';

/** Squidex as the daemon last saw it. */
export interface ServerState {
  state: 'ok' | 'unreachable' | 'refused' | 'unknown';
  /** When it stopped answering (ms), for "unreachable since …". */
  since: number | null;
  reason: string | null;
}

export interface OverviewDeps {
  status(): StatusReport;
  server(): ServerState;
  activity: Activity;
  /** The asset a path is synced to, for links and sizes in the activity list. */
  assetOf(mapping: string, path: string): { assetId: string; size: number | null } | undefined;
  squidex: { url: string; app: string };
  now(): number;
}

export type MappingState = 'in sync' | 'syncing' | 'paused' | 'unreachable' | 'credentials refused' | 'not mounted';

/** What the page shows, as JSON: everything it needs in one answer, nothing secret. */
export interface Overview {
  at: number;
  daemon: { running: true; pid: number };
  squidex: ServerState & { url: string; app: string };
  mappings: Array<{
    name: string;
    local: string;
    remote: string;
    state: MappingState;
    paused: boolean;
    inSync: number;
    waiting: number;
    failed: number;
    heldDeletes: number;
    guard: string | null;
    progress: { done: number; total: number; perSecond: number; etaSeconds: number | null };
  }>;
  activity: Array<{ at: number; action: string; mapping: string; path: string; size: number | null; link: string | null }>;
  failed: StatusReport['failed'];
  /** Gone locally, kept: Squidex refused the delete because content still uses the asset. */
  stillUsed: StatusReport['stillUsed'];
  uploads: Array<{ mapping: string; path: string; sent: number; total: number }>;
  /** What the daemon's verify found changed in Squidex, and assets not from the share. */
  drift: StatusReport['drift'];
}

export function buildOverview(deps: OverviewDeps): Overview {
  const status = deps.status();
  const server = deps.server();
  const now = deps.now();
  const base = deps.squidex.url.replace(/\/+$/, '');
  const link = (assetId: string): string => `${base}/api/assets/${encodeURIComponent(deps.squidex.app)}/${encodeURIComponent(assetId)}`;
  return {
    at: now,
    daemon: { running: true, pid: process.pid },
    squidex: { ...server, url: base, app: deps.squidex.app },
    mappings: status.mappings.map((m) => {
      const waiting = m.pending + m.uploading;
      return {
        name: m.name,
        local: m.local,
        remote: m.remote,
        state: stateOf(m, waiting, server),
        paused: m.paused,
        inSync: m.inSync,
        waiting,
        failed: m.failed,
        heldDeletes: m.heldDeletes,
        guard: m.guard,
        progress: deps.activity.progress(m.name, waiting, now),
      };
    }),
    activity: deps.activity.recent().map((a) => {
      const asset = a.action === 'delete' || a.action === 'forget' ? undefined : deps.assetOf(a.mapping, a.path);
      return { ...a, size: asset?.size ?? null, link: asset ? link(asset.assetId) : null };
    }),
    failed: status.failed,
    stillUsed: status.stillUsed,
    // What the server confirmed of each big (tus) upload: it lags the bytes sent by up to a second.
    uploads: status.bigUploads.map((u) => ({ mapping: u.mapping, path: u.path, sent: u.confirmed, total: u.size })),
    drift: status.drift ?? { mode: 'report', verifiedAt: null, total: 0, items: [] },
  };
}

function stateOf(m: StatusReport['mappings'][number], waiting: number, server: ServerState): MappingState {
  // The guard's own words for a root it cannot read (see worker/gone.ts): an unmounted share.
  if (m.guard?.includes('is missing or unreadable')) return 'not mounted';
  if (m.paused) return 'paused';
  if (server.state === 'refused') return 'credentials refused';
  if (server.state === 'unreachable' && waiting > 0) return 'unreachable';
  return waiting > 0 ? 'syncing' : 'in sync';
}
