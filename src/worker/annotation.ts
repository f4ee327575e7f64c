import { posix } from 'node:path';
import type { FileMetadata } from '../metadata/index.js';
import { preferFirst } from '../metadata/index.js';
import type { AnnotateInput, AssetDto } from '../squidex/index.js';
import type { Annotation } from '../state/index.js';
import type { MappingRuntime } from './mapping.js';

/**
 * The metadata keys squidex-sync writes what a file says into (README, "Tags
 * and metadata"). Not `description`: Squidex fills that key itself with the
 * file type ("PNG File").
 */
export const METADATA_KEYS = { title: 'title', description: 'caption', creator: 'creator', copyright: 'copyright' } as const;

/** Whether this mapping reads keywords and credits from files and sidecars (default on). */
export function readsEmbedded(mapping: MappingRuntime): boolean {
  return mapping.embeddedMetadata !== false;
}

/** Whether the mapping wants any tag or metadata at all: when not, nothing is read, stored or sent. */
export function annotates(mapping: MappingRuntime): boolean {
  return readsEmbedded(mapping) || (mapping.tags?.length ?? 0) > 0 || mapping.folderTags === true;
}

/**
 * What squidex-sync wants on the asset of `relPath`: the mapping's tags, the
 * folder names (folderTags), and what the file says, its sidecar winning
 * field by field. `file` null: the file's own bytes were not read.
 */
export function desired(
  mapping: MappingRuntime,
  relPath: string,
  file: FileMetadata | null,
  sidecar: FileMetadata | undefined,
): Annotation {
  const tags: string[] = [...(mapping.tags ?? [])];
  if (mapping.folderTags) {
    const dir = posix.dirname(relPath);
    if (dir !== '.') tags.push(...dir.split('/'));
  }
  const metadata: Record<string, string> = {};
  if (readsEmbedded(mapping)) {
    const said = preferFirst(sidecar, file ?? undefined);
    tags.push(...(said.keywords ?? []));
    for (const [field, key] of Object.entries(METADATA_KEYS)) {
      const v = said[field as keyof typeof METADATA_KEYS];
      if (v) metadata[key] = v;
    }
  }
  return { tags: [...new Set(tags)], metadata };
}

export function sameAnnotation(a: Annotation, b: Annotation): boolean {
  if (a.tags.length !== b.tags.length || a.tags.some((t) => !b.tags.includes(t))) return false;
  const ka = Object.keys(a.metadata);
  return ka.length === Object.keys(b.metadata).length && ka.every((k) => a.metadata[k] === b.metadata[k]);
}

export function isEmpty(a: Annotation): boolean {
  return a.tags.length === 0 && Object.keys(a.metadata).length === 0;
}

/** What a write must merge: what squidex-sync wants, what it owned before, and whether the server just wiped metadata. */
export interface AnnotationPlan {
  want: Annotation;
  had: Annotation;
  /** Right after an upload: Squidex replaced the metadata, so every wanted key is written again. */
  fresh: boolean;
}

export interface Merged {
  /** The asset's whole tag list, when it changes. */
  tags?: string[];
  /** The asset's whole metadata, when it changes. */
  metadata?: Record<string, unknown>;
  /** What squidex-sync owns once this is written. */
  owned: Annotation;
}

/**
 * Merges what squidex-sync wants into the asset as it is on the server,
 * touching only its own: it removes tags and keys it set that are no longer
 * wanted (a key only while it still holds the value written), adds what is
 * newly wanted, and never claims a tag or key someone else put there first.
 * A tag an editor removed stays removed until the file changes it again.
 */
export function mergeAnnotation(asset: Pick<AssetDto, 'tags' | 'metadata'>, plan: AnnotationPlan): Merged {
  const { want, had, fresh } = plan;
  const current = asset.tags ?? [];
  const drop = new Set(had.tags.filter((t) => !want.tags.includes(t)));
  const add = want.tags.filter((t) => !had.tags.includes(t) && !current.includes(t));
  const tags = [...current.filter((t) => !drop.has(t)), ...add];
  const ownedTags = [...had.tags.filter((t) => want.tags.includes(t)), ...add];

  const before = asset.metadata ?? {};
  const metadata: Record<string, unknown> = { ...before };
  const ownedMeta: Record<string, string> = {};
  let metaChanged = false;
  for (const [key, value] of Object.entries(want.metadata)) {
    const ours = fresh ? undefined : had.metadata[key];
    if (ours === value) {
      ownedMeta[key] = value; // unchanged in the file: an editor's edit of it stands
    } else if (ours !== undefined || fresh || before[key] === undefined) {
      if (before[key] !== value) metaChanged = true;
      metadata[key] = value;
      ownedMeta[key] = value;
    }
  }
  for (const [key, value] of Object.entries(had.metadata)) {
    if (key in want.metadata || fresh) continue;
    if (before[key] === value) {
      delete metadata[key];
      metaChanged = true;
    }
  }
  const tagsChanged = tags.length !== current.length || tags.some((t, i) => t !== current[i]);
  return {
    ...(tagsChanged ? { tags } : {}),
    ...(metaChanged ? { metadata } : {}),
    owned: { tags: ownedTags, metadata: ownedMeta },
  };
}

/** The annotate body for a merge, plus the stamp keys when given. */
export function annotateBody(merged: Merged, extraMetadata?: Record<string, unknown>, base?: Record<string, unknown>): AnnotateInput {
  const body: AnnotateInput = {};
  if (merged.tags) body.tags = merged.tags;
  if (merged.metadata || extraMetadata) body.metadata = { ...(merged.metadata ?? base ?? {}), ...(extraMetadata ?? {}) };
  return body;
}

/** What the dry run prints for a change: "tags +a −b; metadata title, caption". */
export function describeChange(plan: AnnotationPlan): string | undefined {
  const { want, had } = plan;
  const parts: string[] = [];
  const plus = want.tags.filter((t) => !had.tags.includes(t)).map((t) => `+${t}`);
  const minus = had.tags.filter((t) => !want.tags.includes(t)).map((t) => `−${t}`);
  if (plus.length + minus.length > 0) parts.push(`tags ${[...plus, ...minus].join(' ')}`);
  const keys = Object.keys(want.metadata).filter((k) => plan.fresh || had.metadata[k] !== want.metadata[k]);
  const gone = Object.keys(had.metadata)
    .filter((k) => !(k in want.metadata))
    .map((k) => `−${k}`);
  if (keys.length + gone.length > 0) parts.push(`metadata ${[...keys, ...gone].join(', ')}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}
