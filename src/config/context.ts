/** What every part of the config builder shares: where the file is, the environment, the problems found. */
import { homedir } from 'node:os';
import path from 'node:path';
import type { Problems } from './reader.js';
import type { Mapping } from './types.js';

export interface Context {
  file: string;
  dir: string;
  env: Record<string, string | undefined>;
  problems: Problems;
  /** Position of each built mapping in the YAML list (invalid entries are skipped), for messages. */
  mappingIndex: Map<Mapping, number>;
}

/** `~/x` → home; relative → against the config file's folder. */
export function resolveUserPath(p: string, ctx: Pick<Context, 'dir' | 'env'>): string {
  if (p === '~' || p.startsWith('~/')) return path.join(ctx.env.HOME || homedir(), p.slice(1));
  return path.resolve(ctx.dir, p);
}
