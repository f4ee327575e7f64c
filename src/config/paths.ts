/**
 * The checks that look at the disk: mapping roots, overlapping mappings, the
 * CA file, the state path. Overlap is decided on real paths so that a symlink
 * cannot make one folder look like two.
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { joinKey, type Problems } from './reader.js';
import type { Config, ParseOptions } from './types.js';

type Opts = Required<Pick<ParseOptions, 'checkPaths' | 'missingLocal'>>;

export function checkPaths(config: Config, mappingIndex: Map<unknown, number>, opts: Opts, problems: Problems): void {
  const idx = (i: number) => mappingIndex.get(config.mappings[i]) ?? i;
  const keyOf = (i: number, k: string) => joinKey(joinKey('mappings', idx(i)), k);

  if (opts.checkPaths) {
    for (const [i, m] of config.mappings.entries()) checkLocal(m.local, keyOf(i, 'local'), opts, problems);
    if (config.squidex.ca) checkCa(config.squidex.ca, problems);
    checkState(config.state, problems);
  }

  const real = config.mappings.map((m) => (opts.checkPaths ? realish(m.local) : m.local));
  for (let j = 1; j < real.length; j++) {
    for (let i = 0; i < j; i++) {
      const rel = relation(real[i], real[j]);
      if (!rel) continue;
      const other = `mappings[${idx(i)}].local`;
      const what = rel === 'same' ? `is the same folder as ${other}` : rel === 'inside' ? `lies inside ${other}` : `contains ${other}`;
      problems.error(
        keyOf(j, 'local'),
        `${what} (${real[j]} / ${real[i]}); its files would be synced twice — map only the outer folder (add the inner one to its ignore list if it must stay out)`,
      );
    }
  }
  warnRemoteOverlap(config, idx, problems);
}

function checkLocal(local: string, key: string, opts: Opts, problems: Problems): void {
  try {
    if (!statSync(local).isDirectory()) problems.error(key, `${local} is not a directory; expected the folder to mirror`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (opts.missingLocal === 'allow') {
        problems.warn(
          key,
          `${local} does not exist (share not mounted?); syncing this mapping waits for it, and the delete guard holds any deletions`,
        );
      } else {
        problems.error(key, `${local} does not exist; mount the share or create the folder, or fix the path`);
      }
    } else if (code === 'EACCES' || code === 'EPERM') {
      problems.error(key, `${local} cannot be read (permission denied); run squidex-sync as a user who can read it`);
    } else {
      problems.error(key, `${local} cannot be checked (${code ?? (e as Error).message})`);
    }
  }
}

function checkCa(file: string, problems: Problems): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`;
    problems.error('squidex.ca', `${file} ${why}; expected a PEM file with the CA certificate(s) of your Squidex server`);
    return;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.error('squidex.ca', `${file} is not a PEM certificate file (no "-----BEGIN CERTIFICATE-----" line)`);
  }
}

function checkState(file: string, problems: Problems): void {
  try {
    if (statSync(file).isDirectory()) {
      problems.error('state', `${file} is a directory; expected the path of the SQLite file, e.g. ${path.join(file, 'state.db')}`);
    }
  } catch {
    // Missing is fine: the state file and its folder are created at start.
  }
}

/** The real path of p, or of its nearest existing ancestor with the rest appended (an unmounted share). */
export function realish(p: string): string {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(realpathSync.native(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

/** How folder b relates to folder a. */
export function relation(a: string, b: string): 'same' | 'inside' | 'contains' | undefined {
  if (a === b) return 'same';
  const within = (outer: string, inner: string) => {
    const rel = path.relative(outer, inner);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  if (within(a, b)) return 'inside';
  if (within(b, a)) return 'contains';
  return undefined;
}

/**
 * Two mappings writing into one asset folder tree is legal (e.g. two shares into one
 * app root) but files of the same name then sit side by side as separate assets.
 */
function warnRemoteOverlap(config: Config, idx: (i: number) => number, problems: Problems): void {
  const ms = config.mappings;
  for (let j = 1; j < ms.length; j++) {
    for (let i = 0; i < j; i++) {
      const a = ms[i].remote;
      const b = ms[j].remote;
      if (a === b || a === '' || b === '' || b.startsWith(`${a}/`) || a.startsWith(`${b}/`)) {
        problems.warn(
          joinKey(joinKey('mappings', idx(j)), 'remote'),
          `asset folder ${label(b)} overlaps mappings[${idx(i)}].remote ${label(a)}; both mappings write into the same asset folders`,
        );
      }
    }
  }
}

const label = (remote: string) => (remote === '' ? '(the app root)' : `"${remote}"`);
