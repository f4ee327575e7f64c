/**
 * Tree → Config without touching the file system: types, ranges, enums, URL,
 * durations, names. File-system checks live in paths.ts so that `checkPaths:
 * false` is one switch.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import picomatch from 'picomatch';
import { Section, isTree, joinKey, parseBytes, parseDuration, show, type Problems, type Tree } from './reader.js';
import { DEFAULTS, type Config, type DeletePolicy, type LogLevel, type Mapping, type ServerChanges, type WatchMode } from './types.js';

const TOP_KEYS = ['squidex', 'state', 'mappings', 'sync', 'deleteGuard', 'upload', 'http', 'notify', 'log'] as const;
const SQUIDEX_KEYS = [
  'url',
  'app',
  'clientId',
  'clientSecret',
  'token',
  'ca',
  'timeoutSeconds',
  'connectTimeoutSeconds',
  'allowInsecureHttp',
] as const;
const MAPPING_KEYS = [
  'name',
  'local',
  'remote',
  'deletes',
  'permanentDeletes',
  'watch',
  'rescanInterval',
  'ignore',
  'ignoreDefaults',
  'tags',
  'folderTags',
  'embeddedMetadata',
] as const;
/** Squidex stores tags as given; a longer one is almost certainly a paste gone wrong. */
const MAX_TAG_CHARS = 200;
// verifyInterval is a duration in the YAML (24h), kept in ms.
const SYNC_KEYS = [...Object.keys(DEFAULTS.sync).filter((k) => k !== 'verifyIntervalMs'), 'verifyInterval'];
const SERVER_CHANGES: readonly ServerChanges[] = ['report', 'restore'];
const DELETES: readonly DeletePolicy[] = ['keep', 'delete'];
const WATCH: readonly WatchMode[] = ['auto', 'events', 'poll'];
const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** Squidex's own rule for app names. */
const APP_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAPPING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface Context {
  file: string;
  dir: string;
  env: Record<string, string | undefined>;
  problems: Problems;
  /** Position of each built mapping in the YAML list (invalid entries are skipped), for messages. */
  mappingIndex: Map<Mapping, number>;
}

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

function readSquidex(s: Section, ctx: Context): Config['squidex'] {
  const rawUrl = s.str('url', 'the base URL of your Squidex instance, e.g. https://cloud.squidex.io');
  const allowInsecureHttp = s.bool('allowInsecureHttp', DEFAULTS.squidex.allowInsecureHttp);
  const url = rawUrl === undefined ? '' : checkUrl(rawUrl, s, allowInsecureHttp);
  const app = s.str('app', 'the name of the Squidex app whose assets to fill, e.g. atlas') ?? '';
  if (app && !APP_NAME.test(app))
    s.error('app', `expected a Squidex app name (lower-case letters, digits and single dashes, e.g. atlas), got ${show(app, '')}`);

  const token = s.str('token');
  let clientId: string | undefined;
  let clientSecret: string | undefined;
  if (token !== undefined) {
    if (s.has('clientId') || s.has('clientSecret')) s.error('token', 'set either token or clientId + clientSecret, not both');
  } else {
    clientId = s.str('clientId', "the client id from the app's Settings → Clients, e.g. atlas:sync (or set token)");
    clientSecret = s.str('clientSecret', 'the client secret, best as ${SQUIDEX_CLIENT_SECRET} from the environment (or set token)');
  }
  const ca = s.str('ca');
  const timeoutSeconds = s.num('timeoutSeconds', DEFAULTS.squidex.timeoutSeconds, { min: 1, max: 3600, integer: false });
  const connectTimeoutSeconds = s.num('connectTimeoutSeconds', DEFAULTS.squidex.connectTimeoutSeconds, {
    min: 0,
    max: 86_400,
    integer: false,
  });
  return {
    url,
    app,
    ...(clientId !== undefined && { clientId }),
    ...(clientSecret !== undefined && { clientSecret }),
    ...(token !== undefined && { token }),
    ...(ca !== undefined && { ca: resolveUserPath(ca, ctx) }),
    timeoutSeconds,
    connectTimeoutSeconds,
    allowInsecureHttp,
  };
}

function checkUrl(raw: string, s: Section, allowInsecure: boolean): string {
  const expected = 'expected an http(s) URL such as https://cloud.squidex.io';
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    // Do not quote it: a URL with credentials in it is a secret.
    s.error('url', `${expected}, got something that is not a URL`);
    return '';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    s.error('url', `${expected}, got a ${u.protocol.replace(':', '')} URL`);
    return '';
  }
  if (u.username || u.password) {
    s.error('url', 'must not contain a user name or password; Squidex authenticates with clientId/clientSecret');
    return '';
  }
  if (u.search || u.hash) s.error('url', `${expected}, without ?query or #fragment`);
  if (u.protocol === 'http:' && !allowInsecure && !isLoopback(u.hostname)) {
    s.error(
      'url',
      `plain http is allowed only for this machine (localhost, 127.0.0.1, ::1): the client secret, tokens and every file would travel in clear — use https, or set squidex.allowInsecureHttp: true on a network you trust`,
    );
  }
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** `~/x` → home; relative → against the config file's folder. */
export function resolveUserPath(p: string, ctx: Pick<Context, 'dir' | 'env'>): string {
  if (p === '~' || p.startsWith('~/')) return path.join(ctx.env.HOME || homedir(), p.slice(1));
  return path.resolve(ctx.dir, p);
}

function readMappings(top: Section, ctx: Context): Mapping[] {
  const raw = top.raw('mappings');
  const need = 'add at least one entry with local (a folder) and remote (an asset folder path, "" for the app root)';
  if (raw === undefined) {
    top.missing('mappings', need);
    return [];
  }
  if (!Array.isArray(raw) || raw.length === 0) {
    top.error('mappings', `${Array.isArray(raw) ? 'is empty' : `expected a list, got ${show(raw, '')}`}; ${need}`);
    return [];
  }

  const out: Mapping[] = [];
  const names = new Map<string, { index: number; explicit: boolean }>();
  for (const [i, item] of raw.entries()) {
    const key = joinKey('mappings', i);
    if (!isTree(item)) {
      ctx.problems.error(key, `expected a mapping with local and remote, got ${show(item, '')}`);
      continue;
    }
    const m = readMapping(new Section(ctx.problems, key, item, MAPPING_KEYS), ctx);
    if (!m) continue;
    const explicit = item.name !== undefined && item.name !== null;
    const prior = names.get(m.name);
    if (prior) {
      const why = explicit && prior.explicit ? '' : " (a default name is the local folder's name)";
      ctx.problems.error(
        joinKey(key, 'name'),
        `"${m.name}" is already the name of mappings[${prior.index}]${why}; the name keys a mapping's files in the state database, so give each mapping its own name: key`,
      );
    } else names.set(m.name, { index: i, explicit });
    ctx.mappingIndex.set(m, i);
    out.push(m);
  }
  return out;
}

function readMapping(s: Section, ctx: Context): Mapping | undefined {
  const localRaw = s.str('local', 'the local folder to mirror, e.g. /mnt/design-share/Marketing');
  const remote = readRemote(s);
  const deletes = s.oneOf('deletes', DELETES, DEFAULTS.mapping.deletes);
  const permanentDeletes = s.bool('permanentDeletes', DEFAULTS.mapping.permanentDeletes);
  if (permanentDeletes && deletes === 'keep') s.warn('permanentDeletes', 'has no effect with deletes: keep');
  const watch = s.oneOf('watch', WATCH, DEFAULTS.mapping.watch);
  const rescanIntervalMs = readRescan(s);
  const ignore = readIgnore(s);
  const ignoreDefaults = s.bool('ignoreDefaults', DEFAULTS.mapping.ignoreDefaults);
  const tags = readTags(s);
  const folderTags = s.bool('folderTags', DEFAULTS.mapping.folderTags);
  const embeddedMetadata = s.bool('embeddedMetadata', DEFAULTS.mapping.embeddedMetadata);
  let name = s.str('name');
  if (name !== undefined && !MAPPING_NAME.test(name)) {
    s.error('name', `expected letters, digits, ".", "_" or "-" (starting with a letter or digit), got ${show(name, '')}`);
    name = undefined;
  }
  // A bad remote is already reported; keep the mapping so its local folder is checked too.
  if (localRaw === undefined) return undefined;
  const local = resolveUserPath(localRaw, ctx);
  return {
    name: name ?? defaultName(local),
    local,
    remote: remote ?? '',
    deletes,
    permanentDeletes,
    watch,
    rescanIntervalMs,
    ignore,
    ignoreDefaults,
    tags,
    folderTags,
    embeddedMetadata,
  };
}

/** The local folder's name, lower-cased and made CLI-safe: "Marketing Team" → "marketing-team". */
export function defaultName(local: string): string {
  const base = path
    .basename(local)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[-._]+|-+$/g, '');
  return base || 'root';
}

/** "/Marketing//Shared/" → "Marketing/Shared"; "" and "/" → "" (the app root). */
export function normaliseRemote(raw: string): string | { error: string } {
  const segments = raw
    .trim()
    .split('/')
    .filter((seg) => seg !== '' && seg !== '.');
  if (segments.includes('..'))
    return { error: 'must not contain ".." segments; write the asset folder path from the app root, e.g. Marketing/Shared' };
  if (segments.some((seg) => seg.trim() === '')) return { error: 'has a folder name made only of spaces' };
  return segments.join('/');
}

function readRemote(s: Section): string | undefined {
  const v = s.raw('remote');
  if (v === undefined) {
    s.missing('remote', 'the asset folder path to mirror into, e.g. Marketing/Shared ("" or / for the app root)');
    return undefined;
  }
  const r =
    typeof v === 'string' ? normaliseRemote(v) : { error: `expected an asset folder path such as Marketing/Shared, got ${show(v, '')}` };
  if (typeof r === 'string') return r;
  s.error('remote', r.error);
  return undefined;
}

function readRescan(s: Section): number | 'auto' {
  const v = s.raw('rescanInterval');
  if (v === undefined || v === 'auto') return DEFAULTS.mapping.rescanIntervalMs;
  const ms = parseDuration(v);
  if (ms === undefined || ms < 1000) {
    s.error(
      'rescanInterval',
      `expected auto or a duration of at least 1s such as 90s, 15m or 1h (a bare number is seconds), got ${show(v, '')}`,
    );
    return DEFAULTS.mapping.rescanIntervalMs;
  }
  return ms;
}

function readTags(s: Section): string[] {
  const v = s.raw('tags');
  if (v === undefined || v === null) return [...DEFAULTS.mapping.tags];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) {
    s.error('tags', `expected a list of tags such as ["brand", "marketing"], got ${show(v, '')}`);
    return [];
  }
  const out: string[] = [];
  for (const [i, t] of list.entries()) {
    const tag = typeof t === 'string' || typeof t === 'number' ? String(t).trim() : '';
    if (tag === '') {
      s.error(`tags[${i}]`, `expected a tag such as "brand", got ${show(t, '')}`);
      continue;
    }
    if (tag.length > MAX_TAG_CHARS) {
      s.error(`tags[${i}]`, `is ${tag.length} characters long; a tag may have at most ${MAX_TAG_CHARS}`);
      continue;
    }
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
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

function readIgnore(s: Section): string[] {
  const v = s.raw('ignore');
  if (v === undefined) return [...DEFAULTS.mapping.ignore];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) {
    s.error('ignore', `expected a list of globs such as ["*.bak", "drafts/**"], got ${show(v, '')}`);
    return [];
  }
  const out: string[] = [];
  for (const [i, g] of list.entries()) {
    const problems = (msg: string) => s.error(`ignore[${i}]`, msg);
    if (typeof g !== 'string' || g.trim() === '') {
      problems(`expected a glob such as "*.bak", got ${show(g, '')}`);
      continue;
    }
    if (g.startsWith('/')) {
      problems(`globs are relative to the mapping's local folder; drop the leading "/" (${show(g, '')})`);
      continue;
    }
    // The same rules compileIgnore enforces at start, so `check` catches them too (it said "valid" before).
    if (g.startsWith('!')) {
      problems(`negation (!) is not supported: list what to ignore, not what to keep (${show(g, '')})`);
      continue;
    }
    if (/^(\*\*\/?)+\*?$/.test(g.trim())) {
      problems(`would ignore the whole mapping (${show(g, '')}); remove the mapping instead`);
      continue;
    }
    try {
      picomatch.makeRe(g);
    } catch (e) {
      problems(`is not a valid glob (${(e as Error).message})`);
      continue;
    }
    out.push(g);
  }
  return out;
}
