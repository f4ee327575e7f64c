import { posix } from 'node:path';
import { slugify } from '../lib/slug.js';
import type { FileMetadata } from '../metadata/index.js';
import type { AnnotateInput, AssetDto } from '../squidex/index.js';
import type { Annotation } from '../state/index.js';
import { mergeAnnotation, type AnnotationPlan } from './annotation.js';
import { META_PATH, META_SHA, remoteFileOf, type MappingRuntime } from './mapping.js';

/**
 * A stamp as stored: the bulk Annotate job without id and type, the asset
 * version it was computed from, and, when the mapping wants tags or metadata,
 * the plan to merge again (and what squidex-sync owns once it is written).
 */
export interface StampBody extends AnnotateInput {
  expectedVersion?: number;
  plan?: AnnotationPlan;
  owned?: Annotation;
  /** What the file's own bytes said, stored once the stamp is settled. */
  source?: FileMetadata;
}

/**
 * What to write into an asset after an upload: our hash and path (and the
 * name, when the server's differs), the tags and metadata of `plan` merged
 * into the asset as the upload left it, or null when only a direct annotate
 * can do it (a case-only rename needs a detour through another name).
 */
export function stampBody(
  asset: AssetDto,
  of: { mapping: MappingRuntime; relPath: string; sha256: string },
  plan?: AnnotationPlan,
  source?: FileMetadata,
): StampBody | null {
  const { mapping, relPath, sha256 } = of;
  const fileName = posix.basename(relPath);
  if (asset.fileName !== fileName && asset.fileName.toLowerCase() === fileName.toLowerCase()) return null;
  const body: StampBody = { ...merged(asset, sha256, remoteFileOf(mapping, relPath), plan), expectedVersion: asset.version };
  if (source) body.source = source;
  return asset.fileName === fileName ? body : { fileName, slug: slugify(fileName), ...body };
}

/** Metadata (Squidex replaces it wholesale: its own keys such as pixel sizes are kept) and tags for one asset. */
export function merged(asset: AssetDto, sha256: unknown, path: unknown, plan?: AnnotationPlan): StampBody {
  const m = plan ? mergeAnnotation(asset, plan) : undefined;
  const body: StampBody = { metadata: { ...(m?.metadata ?? asset.metadata ?? {}), [META_SHA]: sha256, [META_PATH]: path } };
  if (m?.tags) body.tags = m.tags;
  if (plan && m) Object.assign(body, { plan, owned: m.owned });
  return body;
}

/** The stamp as Squidex gets it: without what only we need to merge again. */
export function wire(body: StampBody): AnnotateInput & { expectedVersion?: number } {
  const { plan: _plan, owned: _owned, source: _source, ...rest } = body;
  return rest;
}
