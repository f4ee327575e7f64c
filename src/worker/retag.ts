import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { MetadataSniffer, readsMetadata, type FileMetadata } from '../metadata/index.js';
import type { Job } from '../state/jobs.js';
import type { FileRow } from '../state/index.js';
import { readsEmbedded } from './annotation.js';
import { reannotate } from './annotate.js';
import type { JobContext, Outcome } from './context.js';
import { fileError, isGone } from './fserrors.js';
import { fileAccessFor } from './localfs.js';
import type { MappingRuntime } from './mapping.js';
import { isRefusal, openInside } from './openfile.js';
import { isSidecarPath, noteSidecar, storedSource } from './sidecar.js';

/**
 * A file in sync whose tags or metadata should change without an upload:
 * the mapping's tags or folderTags changed, or a folder rename moved it
 * under folderTags. Its own metadata is what was stored when it was last
 * read; a file never read for it (embeddedMetadata just turned on) is read
 * now, within the bounds of a first read (README, "Tags and metadata").
 */
export async function reconcileAnnotate(
  mapping: MappingRuntime,
  row: FileRow,
  st: Stats,
  ctx: JobContext,
  signal?: AbortSignal,
): Promise<Outcome> {
  const relPath = row.path;
  let file: FileMetadata | null | undefined;
  if (
    readsEmbedded(mapping) &&
    readsMetadata(posix.basename(relPath)) &&
    storedSource(ctx.state.annotations.get(row.assetId)?.source) === null
  ) {
    const abs = join(mapping.local, relPath);
    const io = fileAccessFor(mapping.local);
    try {
      const opened = await openInside(mapping.local, abs, st, io.mode);
      try {
        file = await new MetadataSniffer(posix.basename(relPath), opened.stat.size).result(opened);
      } finally {
        await opened.close();
      }
    } catch (e) {
      // Changed or gone since the look: its own job (already queued by the change) deals with it.
      if (isGone(e) || isRefusal(e) || (e as { code?: string }).code === 'FILE_REPLACED')
        return { action: 'none', detail: 'file changed meanwhile' };
      throw fileError(e, abs);
    }
    const source = file;
    const write = (): void => ctx.state.annotations.setSource(row.assetId, source, ctx.clock.now());
    ctx.defer(write);
  }
  return (await reannotate(mapping, row, ctx, file, signal)) ? { action: 'annotate', detail: 'tags and metadata' } : { action: 'none' };
}

/**
 * A sidecar appeared, changed or went away: the assets of the files it
 * describes get their tags and metadata again, with no upload. An .xmp that
 * an older version uploaded as an asset of its own stops being synced (its
 * asset stays on the server).
 */
export async function reconcileSidecar(job: Job, mapping: MappingRuntime, ctx: JobContext, signal?: AbortSignal): Promise<Outcome> {
  noteSidecar(mapping.local, job.path);
  const files = ctx.state.files;
  const legacy = files.get(mapping.name, job.path);
  if (legacy) {
    files.remove(mapping.name, job.path);
    ctx.logger.info(
      { mapping: mapping.name, path: job.path, assetId: legacy.assetId },
      'sidecar %s is now read as metadata (embeddedMetadata); its asset %s stays on the server and is no longer synced',
      job.path,
      legacy.assetId,
    );
  }
  let st: Stats | undefined;
  try {
    st = await fileAccessFor(mapping.local).lstat(join(mapping.local, job.path));
  } catch (e) {
    if (!isGone(e)) throw e;
  }
  const stem = job.path.slice(0, -'.xmp'.length);
  const partners = files.stemmed(mapping.name, stem).filter((r) => !isSidecarPath(r.path));
  const settled = partners.filter((r) => r.sha256 !== null && r.missingSince === null);
  let changed = 0;
  for (const row of settled) if (await reannotate(mapping, row, ctx, undefined, signal)) changed += 1;

  // A file not synced yet reads the sidecar itself when its job runs, and records it then.
  // Not recorded here meanwhile, so should that job have read it just before this
  // change, the next full rescan still finds the sidecar new and applies it.
  if (partners.length > settled.length)
    return changed > 0
      ? { action: 'annotate', detail: 'sidecar applied to the synced files' }
      : { action: 'none', detail: 'sidecar: its file is not synced yet' };
  const record = (): void => {
    if (st?.isFile()) ctx.state.sidecars.put(mapping.name, job.path, st.size, st.mtimeMs);
    else ctx.state.sidecars.remove(mapping.name, job.path);
  };
  ctx.defer(record);
  if (changed === 0) return { action: 'none', detail: 'sidecar: nothing to change' };
  return {
    action: 'annotate',
    detail: `tags and metadata of ${changed} file${changed === 1 ? '' : 's'} from sidecar ${posix.basename(job.path)}`,
  };
}
