import { posix } from 'node:path';
import type { Mapping } from '../config/index.js';

/**
 * What the worker needs to know of one configured mapping (a subset of config's Mapping).
 * The tag settings are optional here: absent means the config's defaults.
 */
export type MappingRuntime = Pick<Mapping, 'name' | 'local' | 'remote' | 'deletes' | 'permanentDeletes'> &
  Partial<Pick<Mapping, 'tags' | 'folderTags' | 'embeddedMetadata'>>;

/** Metadata keys stamped on every asset we upload, so a lost database can adopt instead of re-upload. */
export const META_SHA = 'squidexSyncSha256';
export const META_PATH = 'squidexSyncPath';

/** An empty or `.` segment: a leading, trailing or double slash, or a `./`. */
const UNTIDY = /(?:^|\/)\.?(?:\/|$)/;

export function joinRemote(...parts: string[]): string {
  // Called several times per file: tidy parts (nearly all) are joined as they are.
  let out = '';
  for (const p of parts) {
    const tidy = UNTIDY.test(p) ? tidyPath(p) : p;
    if (tidy !== '') out = out === '' ? tidy : `${out}/${tidy}`;
  }
  return out;
}

function tidyPath(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/** The asset folder a file at `relPath` belongs in. */
export function remoteDirOf(mapping: MappingRuntime, relPath: string): string {
  const dir = posix.dirname(relPath);
  return joinRemote(mapping.remote, dir === '.' ? '' : dir);
}

/** The full remote path of a file, as stamped in its metadata. */
export function remoteFileOf(mapping: MappingRuntime, relPath: string): string {
  return joinRemote(mapping.remote, relPath);
}
