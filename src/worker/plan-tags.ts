import { join, posix } from 'node:path';
import { lstat } from 'node:fs/promises';
import { silentLogger } from '../lib/log.js';
import { MetadataSniffer, readsMetadata, type FileMetadata } from '../metadata/index.js';
import type { State } from '../state/index.js';
import type { FileStat } from '../watch/walk.js';
import { annotates, describeChange, desired, readsEmbedded } from './annotation.js';
import { annotateKey } from './followups.js';
import type { MappingRuntime } from './mapping.js';
import { openInside } from './openfile.js';
import { isSidecarPath, readSidecar, storedSource } from './sidecar.js';

/**
 * The tag and metadata change a run would make on the asset of `relPath`
 * (undefined: none), for `once --dry-run`. `file`: what the bytes just read
 * said; `assetId` undefined for a new asset; `fresh` after an upload.
 */
export async function tagChange(
  mapping: MappingRuntime,
  relPath: string,
  state: State,
  opts: { assetId?: string; file?: FileMetadata | null; fresh: boolean },
): Promise<string | undefined> {
  const row = opts.assetId ? state.annotations.get(opts.assetId) : undefined;
  const had = row?.applied ?? { tags: [], metadata: {} };
  if (!annotates(mapping) && had.tags.length === 0 && Object.keys(had.metadata).length === 0) return undefined;
  const embedded = readsEmbedded(mapping);
  const file = opts.file !== undefined ? opts.file : embedded ? (storedSource(row?.source) ?? (await readNow(mapping, relPath))) : null;
  const sidecar = embedded ? (await readSidecar(mapping, relPath, silentLogger))?.meta : undefined;
  return describeChange({ want: desired(mapping, relPath, file, sidecar), had, fresh: opts.fresh });
}

/** A file never read for its metadata, read now within the bounds of a first read. */
async function readNow(mapping: MappingRuntime, relPath: string): Promise<FileMetadata | null> {
  if (!readsMetadata(posix.basename(relPath))) return null;
  const abs = join(mapping.local, relPath);
  try {
    const st = await lstat(abs);
    if (!st.isFile()) return null;
    const file = await openInside(mapping.local, abs, st, 'pooled');
    try {
      return await new MetadataSniffer(posix.basename(relPath), file.stat.size).result(file);
    } finally {
      await file.close();
    }
  } catch {
    return null;
  }
}

/**
 * Tag changes with no upload that a run would make: files whose sidecar is
 * new, changed or gone, and every synced file when the mapping's tag
 * settings changed. `skip`: paths the plan already lists.
 */
export async function retagItems(
  mapping: MappingRuntime,
  sidecars: Map<string, FileStat> | null,
  state: State,
  skip: (path: string) => boolean,
): Promise<Array<{ path: string; detail: string }>> {
  const candidates = new Set<string>();
  if (sidecars) {
    const known = state.sidecars.list(mapping.name);
    const touched = [...sidecars]
      .filter(([p, st]) => known.get(p)?.size !== st.size || Math.abs((known.get(p)?.mtimeMs ?? -2) - st.mtimeMs) >= 1)
      .map(([p]) => p);
    touched.push(...[...known.keys()].filter((p) => !sidecars.has(p)));
    for (const s of touched) for (const r of state.files.stemmed(mapping.name, s.slice(0, -'.xmp'.length))) candidates.add(r.path);
  }
  const settings = JSON.stringify({
    tags: mapping.tags ?? [],
    folderTags: mapping.folderTags ?? false,
    embeddedMetadata: readsEmbedded(mapping),
  });
  if (state.meta.get(annotateKey(mapping.name)) !== settings) for (const r of state.files.list(mapping.name)) candidates.add(r.path);
  const out: Array<{ path: string; detail: string }> = [];
  for (const path of candidates) {
    const row = state.files.get(mapping.name, path);
    if (!row?.sha256 || row.missingSince !== null || isSidecarPath(path) || skip(path)) continue;
    const detail = await tagChange(mapping, path, state, { assetId: row.assetId, fresh: false });
    if (detail) out.push({ path, detail });
  }
  return out;
}
