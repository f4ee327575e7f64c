/**
 * Tree → Config without touching the file system: types, ranges, enums, URL,
 * durations, names. File-system checks live in paths.ts so that `checkPaths:
 * false` is one switch.
 */
import { type Context, resolveUserPath } from './context.js';
import { readMappings } from './mappings.js';
import { Section, parseBytes, parseDuration, show, type Tree } from './reader.js';
import { SQUIDEX_KEYS, isLoopback, readSquidex } from './server.js';
import { DEFAULTS, type Config, type LogLevel, type ServerChanges } from './types.js';

const TOP_KEYS = ['squidex', 'state', 'mappings', 'sync', 'deleteGuard', 'upload', 'http', 'notify', 'log'] as const;
// verifyInterval is a duration in the YAML (24h), kept in ms.
const SYNC_KEYS = [...Object.keys(DEFAULTS.sync).filter((k) => k !== 'verifyIntervalMs'), 'verifyInterval'];
const SERVER_CHANGES: readonly ServerChanges[] = ['report', 'restore'];
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function buildConfig(root: Tree, ctx: Context): Config {
  const top = new Section(ctx.problems, '', root, TOP_KEYS);
  const squidex = readSquidex(top.section('squidex', SQUIDEX_KEYS), ctx);
  const state = resolveUserPath(top.str('state') ?? DEFAULTS.state, ctx);
  const mappings = readMappings(top, ctx);

  const s = top.section('sync', SYNC_KEYS);
  const d = DEFAULTS.sync;
  const sync = {
    concurrency: readConcurrency(s),
    stabilityMs: s.num('stabilityMs', d.stabilityMs, { min: 0 }),
    debounceMs: s.num('debounceMs', d.debounceMs, { min: 0 }),
    maxWaitMs: s.num('maxWaitMs', d.maxWaitMs, { min: 0 }),
    maxAttempts: s.num('maxAttempts', d.maxAttempts, { min: 1 }),
    moveWindowMs: s.num('moveWindowMs', d.moveWindowMs, { min: 0 }),
    shutdownTimeoutMs: s.num('shutdownTimeoutMs', d.shutdownTimeoutMs, { min: 0 }),
    backoffBaseMs: s.num('backoffBaseMs', d.backoffBaseMs, { min: 0 }),
    backoffMaxMs: s.num('backoffMaxMs', d.backoffMaxMs, { min: 0 }),
    maxServerPauseSeconds: s.num('maxServerPauseSeconds', d.maxServerPauseSeconds, { min: 1, max: 7 * 24 * 3600 }),
    verifyIntervalMs: readVerifyInterval(s),
    serverChanges: s.oneOf('serverChanges', SERVER_CHANGES, d.serverChanges),
  };
  if (sync.backoffMaxMs < sync.backoffBaseMs) {
    s.error('backoffMaxMs', `must be at least sync.backoffBaseMs (${sync.backoffBaseMs}): it caps the doubling retry delay`);
  }
  if (sync.maxWaitMs < sync.debounceMs) {
    s.error('maxWaitMs', `must be at least sync.debounceMs (${sync.debounceMs}): it caps how long debouncing may delay a busy path`);
  }

  const g = top.section('deleteGuard', Object.keys(DEFAULTS.deleteGuard));
  const deleteGuard = {
    enabled: g.bool('enabled', DEFAULTS.deleteGuard.enabled),
    maxShare: g.num('maxShare', DEFAULTS.deleteGuard.maxShare, { min: 0, max: 1, integer: false }),
    minFiles: g.num('minFiles', DEFAULTS.deleteGuard.minFiles, { min: 0 }),
    settleMs: g.num('settleMs', DEFAULTS.deleteGuard.settleMs, { min: 0 }),
  };
  if (!deleteGuard.enabled && mappings.some((m) => m.deletes === 'delete')) {
    g.warn(
      'enabled',
      'the delete guard is off while a mapping uses deletes: delete — an unmounted or emptied share would delete its assets',
    );
  }

  const u = top.section('upload', Object.keys(DEFAULTS.upload));
  let maxBytesPerSecond: number = DEFAULTS.upload.maxBytesPerSecond;
  if (u.has('maxBytesPerSecond')) {
    const b = parseBytes(u.raw('maxBytesPerSecond'));
    if (b === undefined)
      u.error(
        'maxBytesPerSecond',
        `expected bytes per second as a number or a size such as 10MB or 5MiB (0 = unlimited), got ${show(u.raw('maxBytesPerSecond'), '')}`,
      );
    else maxBytesPerSecond = b;
  }
  const chunkBytes = bytesKey(
    u,
    'chunkBytes',
    DEFAULTS.upload.chunkBytes,
    MIN_CHUNK,
    MAX_CHUNK,
    'the size of each piece of a resumable upload',
  );
  const tusAboveBytes = bytesKey(u, 'tusAboveBytes', chunkBytes, 0, Number.MAX_SAFE_INTEGER, 'files larger than this go through tus');

  const h = top.section('http', Object.keys(DEFAULTS.http));
  const http = {
    port: h.num('port', DEFAULTS.http.port, { min: 0, max: 65535 }),
    host: h.str('host') ?? DEFAULTS.http.host,
    healthProbeSeconds: h.num('healthProbeSeconds', DEFAULTS.http.healthProbeSeconds, { min: 1, max: 3600 }),
  };
  if (!isLoopback(http.host)) {
    h.error(
      'host',
      `expected a loopback address (127.0.0.1, ::1 or localhost), got ${show(http.host, '')}: the endpoint has no authentication and shows file paths, so it serves this machine only (put a reverse proxy in front to expose it)`,
    );
  }

  const notify = readNotify(top.section('notify', Object.keys(DEFAULTS.notify)));

  const l = top.section('log', Object.keys(DEFAULTS.log));
  const log = { level: l.oneOf('level', LEVELS, DEFAULTS.log.level) };

  return {
    file: ctx.file,
    dir: ctx.dir,
    squidex,
    state,
    mappings,
    sync,
    deleteGuard,
    upload: { maxBytesPerSecond, chunkBytes, tusAboveBytes },
    http,
    notify,
    log,
    warnings: ctx.problems.warnings,
  };
}

/** A tus chunk below this is mostly request overhead; a proxy that refuses it needs fixing, not smaller pieces. */
const MIN_CHUNK = 256 * 1024;
const MAX_CHUNK = 1024 * 1024 * 1024;

function bytesKey(u: Section, key: string, dflt: number, min: number, max: number, what: string): number {
  if (!u.has(key)) return dflt;
  const b = parseBytes(u.raw(key));
  if (b === undefined || b < min || b > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from 256KiB to 1GiB`;
    u.error(key, `expected a size such as 4MiB or 8MB (${what}; ${range}), got ${show(u.raw(key), '')}`);
    return dflt;
  }
  return b;
}

function readNotify(n: Section): Config['notify'] {
  const webhook = n.str('webhook') ?? null;
  if (webhook !== null && !/^https?:\/\/[^\s]+$/.test(webhook)) {
    n.error('webhook', 'expected the URL of an incoming webhook (https://…), as Slack, Mattermost or Teams give it');
  }
  const headers: Record<string, string> = {};
  const raw = n.raw('headers');
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'object' || Array.isArray(raw))
      n.error('headers', 'expected a map of header names to values, e.g. { Authorization: Bearer … }');
    else {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string' || !/^[A-Za-z0-9-]+$/.test(k))
          n.error('headers', `expected header names of letters, digits and dashes with text values (header "${k}")`);
        else headers[k] = v;
      }
    }
  }
  return {
    webhook,
    headers,
    // Fractions are allowed (0.5 = 30 s); 0 tells at once.
    everyMinutes: n.num('everyMinutes', DEFAULTS.notify.everyMinutes, { min: 0, max: 1440, integer: false }),
    afterMinutes: n.num('afterMinutes', DEFAULTS.notify.afterMinutes, { min: 0, max: 1440, integer: false }),
  };
}

/** `auto` (the default) or a pinned number of requests at once, 1..64. */
function readConcurrency(s: Section): number | 'auto' {
  const v = s.raw('concurrency');
  if (v === undefined || v === 'auto') return v ?? DEFAULTS.sync.concurrency;
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v)))
    return s.checkNumber('concurrency', Number(v), 1, { min: 1, max: 64, original: v });
  s.error('concurrency', `expected auto (find the server's pace) or a whole number from 1 to 64, got ${show(v, '')}`);
  return DEFAULTS.sync.concurrency;
}

function readVerifyInterval(s: Section): number {
  const v = s.raw('verifyInterval');
  if (v === undefined) return DEFAULTS.sync.verifyIntervalMs;
  const ms = parseDuration(v);
  if (ms === undefined || (ms > 0 && ms < 1000)) {
    s.error(
      'verifyInterval',
      `expected a duration such as 24h, 6h or 30m (a bare number is seconds; 0 turns the background verify off), got ${show(v, '')}`,
    );
    return DEFAULTS.sync.verifyIntervalMs;
  }
  return ms;
}
