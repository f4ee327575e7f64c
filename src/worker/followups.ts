import { posix } from 'node:path';
import { readsMetadata } from '../metadata/index.js';
import type { State } from '../state/index.js';
import type { FileStat } from '../watch/walk.js';
import { readsEmbedded } from './annotation.js';
import type { MappingRuntime } from './mapping.js';
import { noteSidecars, sidecarCandidates } from './sidecar.js';

/** Rows read at a time when the tag settings changed. */
const ROWS_PAGE = 1024;

/** A job a full rescan queues besides changed and gone files. */
export interface FollowUp {
  path: string;
  /** 'sidecar': read as metadata; 'referenced': kept because content used it, ask again; 'annotate': tags/metadata only. */
  reason: 'sidecar' | 'referenced' | 'annotate';
}

/** The tag settings as last applied to a mapping's assets, in meta. */
export function annotateKey(mapping: string): string {
  return `annotate:${mapping}`;
}

function endsWithXmp(p: string): boolean {
  const n = p.length;
  // Cheaper than a regex over every path of a big share.
  return (
    n > 4 &&
    p.charCodeAt(n - 4) === 46 &&
    (p.charCodeAt(n - 3) | 32) === 120 &&
    (p.charCodeAt(n - 2) | 32) === 109 &&
    (p.charCodeAt(n - 1) | 32) === 112
  );
}

/**
 * Takes the sidecars out of a walk (under embeddedMetadata they are metadata,
 * never assets) so the diff against the files table sees only files; null
 * when the mapping uploads .xmp files like any other.
 */
export function splitSidecars(mapping: MappingRuntime, entries: Map<string, FileStat>): Map<string, FileStat> | null {
  const apart = sidecarsApart(mapping);
  if (!apart) return null;
  const sidecars = new Map<string, FileStat>();
  for (const [p, st] of entries) if (apart(p)) sidecars.set(p, st);
  for (const p of sidecars.keys()) entries.delete(p);
  noteSidecars(mapping.local, sidecars.keys());
  return sidecars;
}

/** The rescan's merge sets sidecars apart as it walks (see splitSidecars); null when they are files like any other. */
export function sidecarsApart(mapping: MappingRuntime): ((path: string) => boolean) | null {
  return readsEmbedded(mapping) ? endsWithXmp : null;
}

/**
 * What a full rescan looks at beyond the diff: sidecars that are new,
 * changed or gone since last applied (and .xmp files an older version
 * uploaded, now in `gone`); paths kept because content used their asset
 * (asked again once per full rescan, never in a loop); and every synced file
 * whose tags or metadata the config now wants different (a folder renamed as
 * a whole queues its own files under folderTags, see folders.ts). Returns the gone
 * list without sidecars, the jobs, and what to record once they are queued.
 */
export function followUps(
  mapping: MappingRuntime,
  walk: { entries: Pick<ReadonlyMap<string, unknown>, 'has'>; sidecars: Map<string, FileStat> | null; rootMissing: boolean },
  gone: string[],
  deps: {
    /** Rows after a path in path order, flat as FilesRepo.listAfter; read only when the tag settings changed. */
    rows: (after: string, limit: number) => readonly string[];
    state: State;
    /** Takes each `annotate` job as its page is read, instead of `jobs`: one per row of the share. */
    annotate?: (path: string) => void;
  },
): { gone: string[]; jobs: FollowUp[]; commit: () => void } {
  const { rows, state } = deps;
  const jobs: FollowUp[] = [];
  const { sidecars } = walk;
  if (sidecars) {
    const known = state.sidecars.list(mapping.name);
    gone = gone.filter((p) => !(endsWithXmp(p) && jobs.push({ path: p, reason: 'sidecar' })));
    for (const [p, st] of sidecars) {
      const was = known.get(p);
      if (!was || was.size !== st.size || Math.abs(was.mtimeMs - st.mtimeMs) >= 1) jobs.push({ path: p, reason: 'sidecar' });
    }
    if (!walk.rootMissing) for (const p of known.keys()) if (!sidecars.has(p)) jobs.push({ path: p, reason: 'sidecar' });
  }
  if (!walk.rootMissing) {
    for (const p of state.kept.paths(mapping.name, 'referenced')) if (!walk.entries.has(p)) jobs.push({ path: p, reason: 'referenced' });
  }

  const settings = JSON.stringify({
    tags: mapping.tags ?? [],
    folderTags: mapping.folderTags ?? false,
    embeddedMetadata: readsEmbedded(mapping),
  });
  const before = state.meta.get(annotateKey(mapping.name));
  if (before !== settings) {
    // A state from before tags existed read no metadata and set no tags.
    const was = before
      ? (JSON.parse(before) as { tags: string[]; folderTags: boolean; embeddedMetadata: boolean })
      : { tags: [], folderTags: false, embeddedMetadata: false };
    const all = JSON.stringify(was.tags) !== JSON.stringify(mapping.tags ?? []) || was.folderTags !== (mapping.folderTags ?? false);
    const hasSidecar = (p: string): boolean => sidecarCandidates(p).some((c) => sidecars?.has(c));
    // A page of rows at a time: a settings change on a share of a million files must not hold the table.
    for (let after = '', page = rows(after, ROWS_PAGE); page.length > 0; page = rows(after, ROWS_PAGE)) {
      for (let i = 0; i + 3 < page.length; i += 4) {
        const p = page[i];
        if (!endsWithXmp(p) && (all || readsMetadata(posix.basename(p)) || hasSidecar(p))) {
          if (deps.annotate) deps.annotate(p);
          else jobs.push({ path: p, reason: 'annotate' });
        }
      }
      after = page[page.length - 4];
      if (page.length < ROWS_PAGE * 4) break;
    }
  }
  return {
    gone,
    jobs,
    commit: () => {
      if (before !== settings) state.meta.set(annotateKey(mapping.name), settings);
    },
  };
}
