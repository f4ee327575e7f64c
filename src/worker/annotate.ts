import { posix } from 'node:path';
import { slugify } from '../lib/slug.js';
import type { FileMetadata, MetadataSniffer } from '../metadata/index.js';
import { isGoneOnServer, isVersionConflict, type AnnotateInput, type AssetDto, type UploadFile } from '../squidex/index.js';
import type { Annotation, FileRow } from '../state/index.js';
import { annotates, desired, isEmpty, mergeAnnotation, readsEmbedded, sameAnnotation, type AnnotationPlan } from './annotation.js';
import type { JobContext } from './context.js';
import { META_PATH, META_SHA, remoteFileOf, type MappingRuntime } from './mapping.js';
import type { OpenFile } from './openfile.js';
import { mayHaveSidecar, readSidecar, storedSource, type Sidecar } from './sidecar.js';

/**
 * What the file just read says (from the same pass as its hash or upload;
 * the bounded regions are read through the same descriptor only when that
 * pass did not cover them), and the plan for its asset's tags and metadata.
 */
export async function annotation(
  at: AssetAt,
  opened: { file: OpenFile; sniff?: MetadataSniffer },
  ctx: JobContext,
  /** Right after an upload: metadata wiped. `brandNew`: an id no write ever went to, so nothing is owned on it. */
  opts: { fresh: boolean; brandNew?: boolean; signal?: AbortSignal },
): Promise<{ plan?: AnnotationPlan; source?: FileMetadata }> {
  if (!annotates(at.mapping)) return {};
  // Only files of a kind that carries metadata were read for it; the rest say nothing and store nothing.
  const sniff = opened.sniff?.wanted ? opened.sniff : undefined;
  const source = sniff ? (sniff.resultNow() ?? (await sniff.result(opened.file, opts.signal))) : undefined;
  const planOpts = { file: source ?? null, fresh: opts.fresh, brandNew: opts.brandNew };
  // No sidecar to look for (most folders): planned without a promise, as a first sync does once per file.
  const plan = mayHaveSidecar(at.mapping, at.relPath) ? await planFor(at, ctx, planOpts) : planWith(at, ctx, planOpts, undefined);
  return { plan, source };
}

/** The asset of a path in a mapping. */
export interface AssetAt {
  mapping: MappingRuntime;
  relPath: string;
  assetId: string;
}

/** What a stamp says: this path, with these bytes. */
export interface StampOf {
  mapping: MappingRuntime;
  relPath: string;
  sha256: string;
  /** The job aborted at a stop: the request on the wire is cut (the stamp waits for the job's next run). */
  signal?: AbortSignal;
}

/** What the file said, kept so a sidecar or config change later needs no new read of it. */
export function keepSource(assetId: string, source: FileMetadata | undefined, ctx: JobContext): void {
  if (!source) return;
  const write = (): void => ctx.state.annotations.setSource(assetId, source, ctx.clock.now());
  ctx.defer(write);
}

/**
 * The upload reads the file through this, so the metadata readers see the
 * bytes of the same pass: streamed (multipart) or read piece by piece into
 * reused buffers (tus), in order from the start; a resumed upload shows them
 * only part of it, and they read their bounded regions themselves.
 */
export function tap(file: OpenFile, sniff: MetadataSniffer): UploadFile & Pick<OpenFile, 'readLarge'> {
  return {
    fstat: () => file.fstat(),
    stream: (start, end, chunk) =>
      (async function* observed() {
        let at = start;
        for await (const c of file.stream(start, end, chunk)) {
          sniff.feed(c, at);
          at += c.length;
          yield c;
        }
      })(),
    readLarge: async (buf, offset, length, position) => {
      const n = await file.readLarge(buf, offset, length, position);
      sniff.feed(buf.subarray(offset, offset + n), position, { reused: true });
      return n;
    },
  };
}

/** Times a write is merged again after Squidex said the asset moved on (412) before the job retries later. */
const MERGE_ATTEMPTS = 3;

/**
 * The plan for the asset of `relPath`: what the mapping wants there now
 * (config, folders, the file's own metadata and its sidecar) and what
 * squidex-sync owns on it. `file`: what the bytes just read said; undefined
 * takes what was stored the last time they were read. Undefined when the
 * mapping wants nothing and owns nothing.
 */
export async function planFor(
  at: AssetAt,
  ctx: JobContext,
  opts: { file?: FileMetadata | null; fresh: boolean; brandNew?: boolean },
): Promise<AnnotationPlan | undefined> {
  const sidecar = readsEmbedded(at.mapping) ? await readSidecar(at.mapping, at.relPath, ctx.logger) : undefined;
  return planWith(at, ctx, opts, sidecar);
}

/** planFor with the sidecar already looked for. */
function planWith(
  at: AssetAt,
  ctx: JobContext,
  opts: { file?: FileMetadata | null; fresh: boolean; brandNew?: boolean },
  sidecar: Sidecar | undefined,
): AnnotationPlan | undefined {
  const { mapping, relPath, assetId } = at;
  const row = opts.brandNew ? undefined : ctx.state.annotations.get(assetId);
  const had = row?.applied ?? { tags: [], metadata: {} };
  if (!annotates(mapping) && isEmpty(had)) return undefined;
  const embedded = readsEmbedded(mapping);
  const file = opts.file !== undefined ? opts.file : embedded ? storedSource(row?.source) : null;
  if (sidecar) {
    // Applied with this file's tags: a rescan sees the sidecar as it was read here, not as new.
    const write = (): void => ctx.state.sidecars.put(mapping.name, sidecar.path, sidecar.size, sidecar.mtimeMs);
    ctx.defer(write);
  }
  const want = desired(mapping, relPath, file, sidecar?.meta);
  if (isEmpty(want) && isEmpty(had)) return undefined;
  return { want, had, fresh: opts.fresh };
}

/**
 * Writes our hash and path, the name, and the plan's tags and metadata into
 * an asset with one annotate, If-Match its version: a 412 (someone edited it
 * meanwhile) reads it again and merges again. Used where the write cannot
 * wait for the next bulk request: after a move, an adoption, or an upload
 * outside the pool.
 */
export async function stamp(asset: AssetDto, of: StampOf, ctx: JobContext, plan?: AnnotationPlan): Promise<AssetDto> {
  const { mapping, relPath, sha256, signal } = of;
  await ctx.stamper.before(asset.id, signal);
  const fileName = posix.basename(relPath);
  const stampKeys = { [META_SHA]: sha256, [META_PATH]: remoteFileOf(mapping, relPath) };
  return writeMerged(
    asset,
    ctx,
    plan,
    async (current, merged) => {
      const body: AnnotateInput = { metadata: { ...(merged?.metadata ?? current.metadata ?? {}), ...stampKeys } };
      if (merged?.tags) body.tags = merged.tags;
      if (current.fileName === fileName) return ctx.client.annotate(current.id, body, { expectedVersion: current.version, signal });
      let version = current.version;
      if (current.fileName.toLowerCase() === fileName.toLowerCase()) {
        // Squidex compares names case-insensitively and would ignore a
        // case-only rename; a detour through another name makes it stick.
        version = (await ctx.client.annotate(current.id, { fileName: `${fileName}.renaming` }, { expectedVersion: version, signal }))
          .version;
      }
      return ctx.client.annotate(current.id, { ...body, fileName, slug: slugify(fileName) }, { expectedVersion: version, signal });
    },
    signal,
  );
}

/**
 * Brings an asset's tags and metadata in line with what the mapping wants
 * for `relPath` now (its sidecar changed, the config's tags changed, the
 * file moved under folderTags), without an upload. Nothing is sent when
 * nothing of ours changes. False when nothing was written.
 */
export async function reannotate(
  mapping: MappingRuntime,
  row: FileRow,
  ctx: JobContext,
  file?: FileMetadata | null,
  /** The job aborted at a stop: the request on the wire is cut, and nothing is recorded. */
  signal?: AbortSignal,
): Promise<boolean> {
  const plan = await planFor({ mapping, relPath: row.path, assetId: row.assetId }, ctx, { file, fresh: false });
  // What squidex-sync owns is what it wants: nothing to ask the server.
  if (!plan || sameAnnotation(plan.want, plan.had)) return false;
  let asset: AssetDto | null;
  try {
    asset = await ctx.client.getAsset(row.assetId, { signal });
  } catch (e) {
    if (isGoneOnServer(e)) return false;
    throw e;
  }
  if (!asset) return false; // deleted on the server: the next upload brings it back
  await ctx.stamper.before(row.assetId, signal);
  let wrote = false;
  await writeMerged(
    asset,
    ctx,
    plan,
    async (current, merged) => {
      if (!merged?.tags && !merged?.metadata) return current;
      wrote = true;
      const body: AnnotateInput = {};
      if (merged.tags) body.tags = merged.tags;
      if (merged.metadata) body.metadata = merged.metadata;
      return ctx.client.annotate(current.id, body, { expectedVersion: current.version, signal });
    },
    signal,
  );
  return wrote;
}

/** One merge-and-write; a 412 reads the asset again and merges again. What squidex-sync then owns is recorded. */
async function writeMerged(
  first: AssetDto,
  ctx: JobContext,
  plan: AnnotationPlan | undefined,
  write: (asset: AssetDto, merged: ReturnType<typeof mergeAnnotation> | undefined) => Promise<AssetDto>,
  signal?: AbortSignal,
): Promise<AssetDto> {
  let current = first;
  for (let attempt = 1; ; attempt++) {
    const merged = plan ? mergeAnnotation(current, plan) : undefined;
    try {
      const written = await write(current, merged);
      if (plan && merged) recordOwned(current.id, merged.owned, ctx);
      return written;
    } catch (e) {
      if (!isVersionConflict(e) || attempt >= MERGE_ATTEMPTS) throw e;
      const again = await ctx.client.getAsset(current.id, { signal });
      if (!again) throw e;
      current = again;
    }
  }
}

function recordOwned(assetId: string, owned: Annotation, ctx: JobContext): void {
  const write = (): void => ctx.state.annotations.setApplied(assetId, owned, ctx.clock.now());
  ctx.defer(write);
}
