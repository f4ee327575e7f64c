/** The `mappings:` list: each local folder, where it goes, and what to do with its files. */
import path from 'node:path';
import picomatch from 'picomatch';
import { Section, isTree, joinKey, parseDuration, show } from './reader.js';
import { DEFAULTS, type DeletePolicy, type Mapping, type WatchMode } from './types.js';
import { type Context, resolveUserPath } from './context.js';

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
const DELETES: readonly DeletePolicy[] = ['keep', 'delete'];
const WATCH: readonly WatchMode[] = ['auto', 'events', 'poll'];
const MAPPING_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function readMappings(top: Section, ctx: Context): Mapping[] {
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
