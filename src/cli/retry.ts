import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Config } from '../config/index.js';
import { openState, type State } from '../state/index.js';
import type { PathRef } from '../state/jobs.js';
import { EXIT, usage } from './exit.js';
import { readConfig } from './runtime.js';

/** `squidex-sync retry [PATH…]`: failed paths back to the queue. */
export async function retry(configFile: string, paths: string[]): Promise<number> {
  const config = readConfig(configFile, 'allow', 'unused');
  const state = openState(config.state, { recover: false });
  try {
    const refs = paths.length === 0 ? undefined : paths.flatMap((p) => toRefs(p, config, state));
    const n = state.jobs.requeueFailed(refs);
    console.log(n === 0 ? 'nothing to retry: no matching failed paths' : `re-queued ${n} failed path${n === 1 ? '' : 's'}`);
    return EXIT.OK;
  } finally {
    state.close();
  }
}

/**
 * An absolute (or ./relative-to-cwd) local path names one mapping's file; a
 * bare relative path is matched against every mapping's failed paths.
 */
function toRefs(p: string, config: Config, state: State): PathRef[] {
  if (isAbsolute(p) || p.startsWith(`.${sep}`) || p.startsWith('..')) {
    const abs = resolve(p);
    for (const m of config.mappings) {
      const rel = relative(m.local, abs);
      if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return [{ mapping: m.name, path: rel.split(sep).join('/') }];
    }
    throw usage(`${abs} is not inside any mapped folder (${config.mappings.map((m) => m.local).join(', ')}).`);
  }
  const wanted = p.split(sep).join('/');
  return state.jobs
    .failed(100_000)
    .filter((f) => f.path === wanted)
    .map((f) => ({ mapping: f.mapping, path: f.path }));
}
