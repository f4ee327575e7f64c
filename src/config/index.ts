/**
 * YAML → validated Config. Defaults → parse → ${VAR} substitution → normalise →
 * validate, collecting every problem so one run of `check` shows them all.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { SyncError } from '../lib/errors.js';
import { substituteEnv } from './env.js';
import { checkPaths } from './paths.js';
import { Problems, isTree } from './reader.js';
import { buildConfig } from './validate.js';
import type { Config, ConfigProblem, Mapping, ParseOptions } from './types.js';

export { DEFAULTS } from './types.js';
export type {
  Config,
  ConfigProblem,
  DeleteGuardSettings,
  DeletePolicy,
  LogLevel,
  Mapping,
  NotifySettings,
  ParseOptions,
  ServerChanges,
  SquidexConfig,
  SyncSettings,
  WatchMode,
} from './types.js';
export { normaliseRemote, defaultName } from './mappings.js';
export { parseDuration, parseBytes } from './reader.js';

export class ConfigError extends SyncError {
  readonly problems: ConfigProblem[];
  readonly file: string;

  constructor(file: string, problems: ConfigProblem[], cause?: unknown) {
    const head = `${file}: ${problems.length === 1 ? 'a problem' : `${problems.length} problems`} in the config`;
    super('CONFIG_INVALID', [head, ...problems.map((p) => `  - ${p.message}`)].join('\n'), {
      cause,
      retry: 'never',
      hint: 'Fix the config (sync.example.yaml documents every key) and run `squidex-sync check`.',
    });
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

/** Read and validate a config file; throws ConfigError listing every problem. */
export function loadConfig(
  file: string,
  env: Record<string, string | undefined> = process.env,
  opts: Omit<ParseOptions, 'file' | 'env'> = {},
): Config {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist; pass --config FILE or copy sync.example.yaml to sync.yaml'
        : `cannot be read (${code ?? (e as Error).message})`;
    throw new ConfigError(abs, [{ key: '', message: `config file ${abs} ${why}` }], e);
  }
  return parseConfig(text, { ...opts, file: abs, env });
}

export function parseConfig(text: string, opts: ParseOptions): Config {
  const file = path.resolve(opts.file);
  const env = opts.env ?? process.env;
  const problems = new Problems();

  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ key: '', message: yamlMessage(e, text) })),
      doc.errors[0],
    );
  }
  let parsed: unknown;
  try {
    parsed = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml refuses to expand aliases past the limit (a "billion laughs" file would fill memory).
    // That is the file's fault like any syntax error: a config error (exit 2), never retried.
    const message = /alias/i.test((e as Error).message)
      ? 'the file expands YAML aliases (*name) too often (over 100 times); write the values out instead of referring to anchors'
      : `the YAML cannot be read: ${(e as Error).message}`;
    throw new ConfigError(file, [{ key: '', message }], e);
  }
  if (parsed === null || parsed === undefined) {
    throw new ConfigError(file, [{ key: '', message: 'the config file is empty; start from sync.example.yaml' }]);
  }
  if (!isTree(parsed)) {
    throw new ConfigError(file, [{ key: '', message: 'expected a YAML mapping with squidex, mappings, … at the top level' }]);
  }

  const lenient = opts.secrets === 'unused' ? { keys: SECRET_KEYS, unset: new Set<string>() } : undefined;
  const tree = substituteEnv(parsed, env, problems, { lenient }) as Record<string, unknown>;
  const mappingIndex = new Map<Mapping, number>();
  const config = buildConfig(tree, { file, dir: path.dirname(file), env, problems, mappingIndex });
  checkPaths(config, mappingIndex, { checkPaths: opts.checkPaths ?? true, missingLocal: opts.missingLocal ?? 'error' }, problems);

  if (problems.errors.length > 0) throw new ConfigError(file, problems.errors);
  // Never let the unexpanded `${VAR}` text pass for a secret.
  if (lenient?.unset.has('squidex.clientSecret')) delete config.squidex.clientSecret;
  if (lenient?.unset.has('squidex.token')) delete config.squidex.token;
  return config;
}

/** Where the config holds a secret; only `check`, `once` and `start` need them. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['squidex.clientSecret', 'squidex.token']);

/**
 * "line 4, column 15: Nested mappings are not allowed…" plus the offending line —
 * unless that line looks like it holds a secret, since this message gets logged.
 */
function yamlMessage(
  e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]]; pos: [number, number] },
  text: string,
): string {
  const first = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const { line, col } = e.linePos?.[0] ?? lineCol(text, e.pos[0]);
  const src = text.split(/\r?\n/)[line - 1]?.trim() ?? '';
  const show = src && !/secret|token|password/i.test(src) ? ` — in: ${src.length > 80 ? `${src.slice(0, 77)}…` : src}` : '';
  return `YAML syntax error at line ${line}, column ${col}: ${first}${show}`;
}

function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}
