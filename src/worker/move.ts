import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { FileRow } from '../state/index.js';
import type { ReconcileContext } from './context.js';
import type { FileDigest } from './hash.js';
import type { MappingRuntime } from './mapping.js';
import { existsExactly } from './exact.js';

/**
 * A path the files table does not know, whose content equals a known file
 * that is no longer on disk, is that file moved or renamed. Only a vanished
 * source qualifies: two live copies of the same bytes stay two assets.
 */
export async function findMoveSource(
  mapping: MappingRuntime,
  relPath: string,
  digest: FileDigest,
  ctx: Pick<ReconcileContext, 'state'>,
): Promise<FileRow | null> {
  for (const row of byLikeness(relPath, ctx.state.files.findBySha(mapping.name, digest.sha256, digest.size))) {
    if (row.path === relPath) continue;
    if ((await isFile(join(mapping.local, row.path))) && (await existsExactly(mapping.local, row.path))) continue;
    return row;
  }
  return null;
}

/**
 * Several vanished files with these bytes: the one with the same name, then
 * one from the same folder, is the likeliest source. A copy renamed in its
 * own folder must not take the file of a folder moved at the same moment.
 */
export function byLikeness<T extends { path: string }>(relPath: string, rows: T[]): T[] {
  const name = posix.basename(relPath);
  const dir = posix.dirname(relPath);
  const rank = (p: string): number => (posix.basename(p) === name ? 0 : posix.dirname(p) === dir ? 1 : 2);
  return rows
    .map((r, i) => ({ r, i, k: rank(r.path) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.r);
}

async function isFile(abs: string): Promise<boolean> {
  try {
    return (await lstat(abs)).isFile();
  } catch {
    return false;
  }
}
