/**
 * Typed, problem-collecting access to one YAML mapping. Every getter records a
 * problem and returns the default instead of throwing, so one pass over the
 * file reports everything that is wrong with it, not just the first thing.
 */
import type { ConfigProblem } from './types.js';

export type Tree = Record<string, unknown>;

/** Keys whose values are secrets: never quoted back in a message. */
const SECRET_KEYS = new Set(['clientSecret', 'token']);

export class Problems {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];
  /** One problem per key: the first is the cause (e.g. an unset ${VAR}), later ones are echoes of it. */
  error(key: string, message: string): void {
    if (key && this.errors.some((p) => p.key === key)) return;
    this.errors.push({ key, message: key ? `${key}: ${message}` : message });
  }
  warn(key: string, message: string): void {
    this.warnings.push({ key, message: key ? `${key}: ${message}` : message });
  }
}

export function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function joinKey(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/** Quote a value for a message, short, and never a secret. */
export function show(value: unknown, key: string): string {
  if (SECRET_KEYS.has(key.split('.').pop() ?? '')) return 'a value (not shown: secret)';
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const s = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

interface Num {
  min?: number;
  max?: number;
  integer?: boolean;
  /** The value as written, for the message (a number read from a string). */
  original?: unknown;
}

export class Section {
  /** Known keys that an unknown key is probably a typo of: not reported again as missing. */
  private readonly misspelt = new Set<string>();

  constructor(
    private readonly problems: Problems,
    readonly path: string,
    readonly tree: Tree,
    known: readonly string[],
  ) {
    for (const key of Object.keys(tree)) {
      if (known.includes(key)) continue;
      const near = didYouMean(key, known);
      if (near) this.misspelt.add(near);
      const hint = near ? ` — did you mean "${near}"?` : ` (known keys here: ${known.join(', ')})`;
      problems.error(joinKey(path, key), `unknown key${hint}`);
    }
  }

  key(name: string): string {
    return joinKey(this.path, name);
  }

  /** The raw value; YAML `key:` with nothing after it counts as absent. */
  raw(name: string): unknown {
    const v = this.tree[name];
    return v === null ? undefined : v;
  }

  has(name: string): boolean {
    return this.raw(name) !== undefined;
  }

  error(name: string, message: string): void {
    this.problems.error(this.key(name), message);
  }

  /** "key: missing; <what it is>", unless a misspelling of it was already reported. */
  missing(name: string, what: string): void {
    if (!this.misspelt.has(name)) this.error(name, `missing; ${what}`);
  }

  warn(name: string, message: string): void {
    this.problems.warn(this.key(name), message);
  }

  str(name: string, required: string | false = false): string | undefined {
    const v = this.raw(name);
    if (v === undefined) {
      if (required) this.missing(name, required);
      return undefined;
    }
    if (typeof v !== 'string') {
      // An unquoted all-digit secret or id arrives as a number; say how to fix it.
      const fix = typeof v === 'number' || typeof v === 'boolean' ? '; put it in quotes' : '';
      this.error(name, `expected a string, got ${show(v, this.key(name))}${fix}`);
      return undefined;
    }
    if (v.trim() === '') {
      if (required) this.error(name, `is empty; ${required}`);
      return undefined;
    }
    return v;
  }

  num(name: string, fallback: number, opts: Num = {}): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    // Strings of digits come from ${VAR} substitution (env values are strings).
    const n = typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
    const ms = name.endsWith('Ms') && typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms !== undefined) {
      this.error(name, `expected a whole number of milliseconds, got ${show(v, '')}; write ${ms} for that`);
      return fallback;
    }
    return this.checkNumber(name, n, fallback, { ...opts, original: v });
  }

  checkNumber(name: string, n: unknown, fallback: number, opts: Num): number {
    const { min, max, integer = true, original = n } = opts;
    const what = integer ? 'a whole number' : 'a number';
    const range =
      min !== undefined && max !== undefined
        ? ` from ${min} to ${max}`
        : min !== undefined
          ? ` ≥ ${min}`
          : max !== undefined
            ? ` ≤ ${max}`
            : '';
    const bad =
      typeof n !== 'number' ||
      !Number.isFinite(n) ||
      (integer && !Number.isInteger(n)) ||
      (min !== undefined && n < min) ||
      (max !== undefined && n > max);
    if (bad) {
      this.error(name, `expected ${what}${range}, got ${show(original, this.key(name))}`);
      return fallback;
    }
    return n as number;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    this.error(name, `expected true or false, got ${show(v, this.key(name))}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    const near = typeof v === 'string' ? didYouMean(v, values) : undefined;
    const hint = near ? ` — did you mean "${near}"?` : '';
    this.error(name, `expected one of ${values.join(' | ')}, got ${show(v, this.key(name))}${hint}`);
    return fallback;
  }

  /** A nested mapping; absent means empty, so its defaults apply. */
  section(name: string, known: readonly string[]): Section {
    const v = this.raw(name);
    if (v !== undefined && !isTree(v)) {
      this.error(name, `expected a mapping of keys (${known.join(', ')}), got ${show(v, this.key(name))}`);
      return new Section(this.problems, this.key(name), {}, known);
    }
    return new Section(this.problems, this.key(name), (v as Tree | undefined) ?? {}, known);
  }
}

/** The known name closest to a typo: same letters in another case, or at most 2 edits away. */
export function didYouMean(input: string, known: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestDist = Infinity;
  for (const k of known) {
    if (k.toLowerCase() === lower) return k;
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDist) [best, bestDist] = [k, d];
  }
  const limit = input.length <= 4 ? 1 : 2;
  return bestDist <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "15m", "1h30m", "500ms" → ms; a bare number is seconds. undefined when malformed. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const parts = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/.test(s) ? s.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g) : null;
  if (!parts) return undefined;
  let total = 0;
  for (const p of parts) {
    const [, n, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(p)!;
    total += Number(n) * UNIT_MS[unit];
  }
  return Math.round(total);
}

const UNIT_BYTES: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** 1048576, "10MB", "1.5 MiB" → bytes. undefined when malformed. */
export function parseBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.floor(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(v);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * UNIT_BYTES[(m[2] ?? 'b').toLowerCase()]);
}
