import { validation } from './http.js';
import type { AssetRec } from './store.js';
import { ROOT_ID } from './types.js';

/** One `path eq value` clause; `and` is the only join supported (enough for hash/name/metadata probes). */
interface Clause {
  path: string[];
  value: string | number | boolean | null;
}

const FIELDS = new Set([
  'id',
  'isDeleted',
  'fileHash',
  'fileName',
  'fileSize',
  'fileVersion',
  'isProtected',
  'mimeType',
  'slug',
  'tags',
  'version',
  'metadata',
  'createdBy',
  'lastModifiedBy',
]);

/** Splits an OData $filter into tokens, keeping quoted strings ('' is an escaped quote) whole. */
function tokenize(filter: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i];
    if (ch === ' ') {
      i++;
    } else if (ch === "'") {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= filter.length) throw validation(`Syntax error: unterminated string literal at position ${i} in '${filter}'.`);
        if (filter[j] === "'") {
          if (filter[j + 1] === "'") {
            text += "'";
            j += 2;
            continue;
          }
          break;
        }
        text += filter[j++];
      }
      tokens.push(`'${text}`);
      i = j + 1;
    } else {
      let j = i;
      while (j < filter.length && filter[j] !== ' ' && filter[j] !== "'") j++;
      tokens.push(filter.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

export function parseFilter(filter: string): Clause[] {
  const tokens = tokenize(filter);
  const clauses: Clause[] = [];
  for (let i = 0; i < tokens.length; ) {
    const [path, op, raw] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (path === undefined || op?.toLowerCase() !== 'eq' || raw === undefined) {
      throw validation(`Syntax error at position ${i} in '${filter}'. Only 'eq' joined by 'and' is supported by this test server.`);
    }
    const segments = path.split('/');
    if (!FIELDS.has(segments[0]) || (segments[0] === 'metadata' && segments.length < 2)) {
      throw validation(`Could not find a property named '${path}' on type 'Squidex.Asset'.`);
    }
    clauses.push({ path: segments, value: literal(raw, filter) });
    i += 3;
    if (i < tokens.length) {
      if (tokens[i].toLowerCase() !== 'and') throw validation(`Syntax error at position ${i} in '${filter}'.`);
      i++;
      if (i >= tokens.length) throw validation(`Syntax error: expression expected at the end of '${filter}'.`);
    }
  }
  return clauses;
}

function literal(raw: string, filter: string): Clause['value'] {
  if (raw.startsWith("'")) return raw.slice(1);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null') return null;
  const n = Number(raw);
  if (Number.isFinite(n)) return n;
  throw validation(`Syntax error: '${raw}' is not a literal in '${filter}'.`);
}

function fieldValue(a: AssetRec, path: string[]): unknown {
  if (path[0] === 'metadata') {
    let v: unknown = a.metadata;
    for (const key of path.slice(1)) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    return v;
  }
  if (path[0] === 'isDeleted') return a.deleted;
  return (a as unknown as Record<string, unknown>)[path[0]];
}

function matches(a: AssetRec, c: Clause): boolean {
  const v = fieldValue(a, c.path);
  if (Array.isArray(v)) return v.includes(c.value);
  return v === c.value || (v === undefined && c.value === null);
}

export interface AssetQuery {
  parentId?: string;
  ids?: string[];
  filter?: string;
  top?: number;
  skip?: number;
}

/** GET /assets semantics of §6: ids win over parentId and filter; lastModified desc, id asc; take ≤ 200. */
export function queryAssets(all: Iterable<AssetRec>, q: AssetQuery): { total: number; items: AssetRec[] } {
  const assets = [...all];
  if (q.ids) {
    const byId = new Map(assets.filter((a) => !a.deleted).map((a) => [a.id, a]));
    const found = q.ids.map((id) => byId.get(id)).filter((a): a is AssetRec => a !== undefined);
    const skip = q.skip ?? 0;
    const items = found.slice(skip, skip + Math.min(q.top ?? q.ids.length, 200));
    return { total: found.length, items };
  }
  const clauses = q.filter ? parseFilter(q.filter) : [];
  const wantsDeleted = clauses.some((c) => c.path[0] === 'isDeleted');
  const hits = assets
    .filter((a) => wantsDeleted || !a.deleted)
    .filter((a) => q.parentId === undefined || a.parentId === q.parentId)
    .filter((a) => clauses.every((c) => matches(a, c)))
    .sort((x, y) => y.lastModified - x.lastModified || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const skip = Math.max(0, q.skip ?? 0);
  const take = Math.min(Math.max(0, q.top ?? 200), 200);
  return { total: hits.length, items: hits.slice(skip, skip + take) };
}

export function parseQuery(params: URLSearchParams): AssetQuery {
  const get = (name: string) => {
    for (const [k, v] of params) if (k.toLowerCase() === name.toLowerCase()) return v;
    return undefined;
  };
  const num = (name: string) => {
    const v = get(name);
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw validation(`${name} must be an integer.`);
    return n;
  };
  const ids = get('ids');
  const parentId = get('parentId');
  return {
    parentId: parentId === undefined || parentId === '' ? undefined : parentId === ROOT_ID ? ROOT_ID : parentId,
    ids: ids
      ? ids
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
    filter: get('$filter') || undefined,
    top: num('$top'),
    skip: num('$skip'),
  };
}
