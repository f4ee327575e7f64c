import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileRow } from '../state/index.js';
import type { WalkResult } from '../watch/walk.js';
import { hashFile } from '../worker/hash.js';
import type { MappingRuntime } from '../worker/mapping.js';
import { byLikeness } from '../worker/move.js';
import { openInside } from '../worker/openfile.js';

/**
 * Where the bytes of a file gone from the share are now, by a walk of the
 * mapping: a path the files table does not know, with the same size and
 * SHA-256 (what the worker's move detection matches). For a run that pairs
 * nothing by a rescan (`verify --repair`): a file moved while squidex-sync was
 * stopped must move its asset, never lose it to a delete. Each candidate is
 * hashed once, and only when a gone file has its size.
 */
export function movedContent(
  mapping: MappingRuntime,
  walk: WalkResult,
  known: (path: string) => boolean,
): (row: Pick<FileRow, 'path' | 'sha256' | 'size'>) => Promise<string | null> {
  const bySize = new Map<number, Array<{ path: string }>>();
  for (const [path, e] of walk.entries) {
    if (known(path)) continue;
    const same = bySize.get(e.size) ?? [];
    same.push({ path });
    bySize.set(e.size, same);
  }
  const hashes = new Map<string, Promise<string | null>>();
  const sha = (path: string): Promise<string | null> => {
    const h = hashes.get(path) ?? hashAt(mapping.local, path);
    hashes.set(path, h);
    return h;
  };
  return async (row) => {
    if (row.sha256 === null || row.size === null) return null;
    for (const c of byLikeness(row.path, bySize.get(row.size) ?? [])) if ((await sha(c.path)) === row.sha256) return c.path;
    return null;
  };
}

/** The SHA-256 of a file of the mapping, or null when it cannot be read as one (gone, swapped for a link). */
async function hashAt(root: string, path: string): Promise<string | null> {
  const abs = join(root, path);
  try {
    const file = await openInside(root, abs, await lstat(abs), 'pooled');
    try {
      return (await hashFile(file)).sha256;
    } finally {
      await file.close();
    }
  } catch {
    return null;
  }
}
