import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ROOT_FOLDER_ID, type SquidexClient } from '../squidex/index.js';
import type { FileRow, State } from '../state/index.js';
import { diffLean, walkMapping, type IgnoreMatcher, type WalkResult } from '../watch/index.js';
import { AdoptionIndex } from './adopt.js';
import { detectFolderRenames } from './folders.js';
import { confirmedUntil, deleteGuardVerdict, keptUntil, type GuardSettings } from './deleteguard.js';
import { decide, undecided, type FileObservation } from './decide.js';
import { hashFile, type FileDigest } from './hash.js';
import { byLikeness } from './move.js';
import { openInside } from './openfile.js';
import { splitSidecars } from './followups.js';
import { retagItems, tagChange } from './plan-tags.js';
import { MetadataSniffer, type FileMetadata } from '../metadata/index.js';
import { readsEmbedded } from './annotation.js';
import { isSidecarPath } from './sidecar.js';
import { remoteDirOf, remoteFileOf, type MappingRuntime } from './mapping.js';
import { systemClock } from '../lib/clock.js';
import { formatBytes } from '../lib/units.js';

export type PlanAction =
  | 'create-folder'
  | 'rename-folder'
  | 'upload'
  | 'replace'
  | 'adopt'
  | 'move'
  | 'delete'
  | 'forget'
  | 'held'
  | 'annotate';

export interface PlanItem {
  action: PlanAction;
  mapping: string;
  path: string;
  detail?: string;
  /** An upload or replace that goes through tus, in resumable pieces. */
  tus?: boolean;
}

/** How `once` would send big files: above `aboveBytes` through tus when the server has it. */
export interface PlanTus {
  aboveBytes: number;
  chunkBytes: number;
  /** false: the server answered that it has no tus endpoint (asked once, and only when a file is big enough). */
  available: () => Promise<boolean>;
}

/**
 * What `once` would do, worked out with reads only: the server is asked
 * which folders and assets exist, nothing is written anywhere. The state
 * passed in is a throw-away copy.
 */
/** What one mapping's plan shares while it looks at each path. */
interface PlanRun {
  mapping: MappingRuntime;
  deps: { state: State; client: SquidexClient; guard: GuardSettings; allowMassDelete: boolean; tus?: PlanTus };
  walk: WalkResult;
  folders: FolderLookup;
  adoption: AdoptionIndex;
  /** Rows a planned move takes: not also planned as gone. */
  movedFrom: Set<string>;
  items: PlanItem[];
}

export async function planMapping(
  mapping: MappingRuntime,
  ignore: IgnoreMatcher,
  deps: { state: State; client: SquidexClient; guard: GuardSettings; allowMassDelete: boolean; tus?: PlanTus },
): Promise<PlanItem[]> {
  const walk = await walkMapping(mapping.local, ignore);
  const present = walk.entries.size;
  const sidecars = splitSidecars(mapping, walk.entries);
  const rows = deps.state.files.list(mapping.name).filter((r) => !sidecars || !isSidecarPath(r.path));
  const run: PlanRun = {
    mapping,
    deps,
    walk,
    folders: new FolderLookup(deps.client),
    adoption: new AdoptionIndex(deps.client, systemClock),
    movedFrom: new Set<string>(),
    items: [],
  };
  // A renamed folder's files go with it; files added to it meanwhile are still uploads.
  const known = new Set(rows.map((r) => r.path));
  const renames = walk.rootMissing
    ? []
    : detectFolderRenames(
        mapping.local,
        walk.entries,
        rows.filter((r) => !walk.entries.has(r.path)).map((r) => r.path),
        {
          has: (p) => known.has(p),
          under: (dir, limit = -1) => {
            const under = deps.state.files.listUnder(mapping.name, dir).filter((r) => !sidecars || !isSidecarPath(r.path));
            return limit < 0 ? under : under.slice(0, limit);
          },
        },
      );
  const inRenamed = (p: string): boolean =>
    renames.some((r) => p.startsWith(`${r.from}/`) || (p.startsWith(`${r.to}/`) && known.has(`${r.from}/${p.slice(r.to.length + 1)}`)));
  for (const r of renames)
    run.items.push({
      action: 'rename-folder',
      mapping: mapping.name,
      path: r.from,
      detail: `to ${r.to}, ${r.files} files, nothing uploaded`,
    });
  // The rescan's own comparison, so the plan cannot drift from what `once` does.
  const diff = diffLean(walk.entries, deps.state.files.listLean(mapping.name));
  const changed = diff.changed.filter((p) => !inRenamed(p));
  const gone = diff.gone.filter((p) => !inRenamed(p) && !(sidecars && isSidecarPath(p)));

  for (const path of changed) await planFile(run, path);
  const held = planGone(run, gone, rows, present);
  planKeptReferenced(run, held);
  const listed = new Set([...run.items.map((i) => i.path), ...changed]);
  for (const r of await retagItems(mapping, sidecars, deps.state, (p) => listed.has(p))) {
    run.items.push({ action: 'annotate', mapping: mapping.name, path: r.path, detail: r.detail });
  }
  return dedupeFolders(run.items);
}

/** A changed or new file: hashed, then what decide() would do, answered with reads only. */
async function planFile(run: PlanRun, path: string): Promise<void> {
  const { mapping, deps, walk, folders, adoption, movedFrom, items } = run;
  const abs = join(mapping.local, path);
  const row = deps.state.files.get(mapping.name, path);
  const read = await hashInside(mapping.local, abs, readsEmbedded(mapping));
  if (!read) return;
  const { digest, meta, st } = read;
  // Read-only answers to what decide() asks: every file is hashed, nothing is created.
  const seen: FileObservation = {
    kind: 'file',
    row,
    size: st.size,
    mtimeMs: st.mtimeMs,
    reportedGone: false,
    annotateOnly: false,
    digest,
  };
  const dir = remoteDirOf(mapping, path);
  let parentId: string | null | undefined;
  let d = decide(seen);
  while ('need' in d) {
    if (d.need === 'move') {
      const source = byLikeness(path, deps.state.files.findBySha(mapping.name, digest.sha256, digest.size)).find(
        (r) => r.path !== path && !walk.entries.has(r.path) && !movedFrom.has(r.path),
      );
      seen.move = { from: source?.path ?? null, withFolder: false };
    } else if (d.need === 'adoption') {
      parentId ??= await folders.find(dir);
      const found =
        parentId === null
          ? null
          : await adoption.find(
              { parentId, remoteFile: remoteFileOf(mapping, path), fileName: posix.basename(path), digest },
              (id) => deps.state.files.getByAssetId(id) !== undefined,
            );
      seen.adoption = found && { assetId: found.asset.id, sameContent: found.sameContent };
    } else {
      throw undecided(d);
    }
    d = decide(seen);
  }
  if (d.action === 'none' || d.action === 'touch' || d.action === 'outran' || d.action === 'annotate') return;
  const tags = async (assetId: string | undefined, fresh: boolean): Promise<string> => {
    const change = await tagChange(mapping, path, deps.state, { assetId, file: meta, fresh });
    return change ? `; ${change}` : '';
  };
  parentId ??= await folders.find(dir);
  if (parentId === null)
    for (const f of folders.missingPrefixes(dir)) items.push({ action: 'create-folder', mapping: mapping.name, path: f });
  const viaTus = deps.tus !== undefined && digest.size > deps.tus.aboveBytes && (await deps.tus.available());
  const how = viaTus ? tusDetail(deps.state, deps.tus!, mapping.name, path, digest.size) : '';
  const tus = viaTus || undefined;
  if (d.action === 'replace') {
    items.push({
      action: 'replace',
      mapping: mapping.name,
      path,
      detail: `asset ${row!.assetId}${how}${await tags(row!.assetId, true)}`,
      tus,
    });
  } else if (d.action === 'upload' && row) {
    // A row with no hash is an upload that never finished (refused, or cut off): it is uploaded, not replaced.
    items.push({
      action: 'upload',
      mapping: mapping.name,
      path,
      detail: `${formatBytes(digest.size)}; its last upload did not finish${how}`,
      tus,
    });
  } else if (d.action === 'move') {
    movedFrom.add(d.from);
    const source = deps.state.files.get(mapping.name, d.from);
    items.push({ action: 'move', mapping: mapping.name, path, detail: `from ${d.from} (asset ${source?.assetId})` });
  } else if (d.action === 'adopt') {
    items.push({ action: 'adopt', mapping: mapping.name, path, detail: `asset ${d.assetId}${await tags(d.assetId, false)}` });
  } else if (d.action === 'upload') {
    items.push({
      action: 'upload',
      mapping: mapping.name,
      path,
      detail: `${formatBytes(digest.size)}${how}${await tags(undefined, true)}`,
      tus,
    });
  } else {
    throw undecided(d);
  }
}

/** Gone files, as they will be once the move window is over; returns whether the delete guard holds the mapping. */
function planGone(run: PlanRun, gone: string[], rows: readonly FileRow[], present: number): boolean {
  const { mapping, deps, walk, movedFrom, items } = run;
  const rootMissing = walk.rootMissing;
  // Deletions confirmed with `confirm-deletes` (seen missing before it ran) are not held again.
  const confirmedAt = confirmedUntil(deps.state.meta, mapping.name);
  const keptAt = keptUntil(deps.state.meta, mapping.name);
  const isConfirmed = (r: { missingSince: number | null }): boolean => r.missingSince !== null && r.missingSince <= confirmedAt;
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const confirmed = gone.filter((p) => isConfirmed(byPath.get(p)!)).length;
  // The rescan's verdict on the same counts.
  const heldBecause = deleteGuardVerdict(
    mapping.local,
    { rootMissing, present, known: rows.length - confirmed, gone: gone.length - confirmed },
    deps.guard,
    deps.allowMassDelete,
  );
  for (const path of gone) {
    if (movedFrom.has(path)) continue;
    const row = byPath.get(path)!;
    // What happens once the move window is over: a row not yet seen missing counts as missing now.
    const d = decide({
      kind: 'gone',
      row: { ...row, missingSince: row.missingSince ?? Number.MAX_SAFE_INTEGER },
      waitedMs: Infinity,
      moveWindowMs: 0,
      held: rootMissing || !isConfirmed(row) ? heldBecause : null,
      settleMs: 0,
      deletes: mapping.deletes,
      keptByUser: row.missingSince !== null && row.missingSince <= keptAt,
    });
    if (!('action' in d)) throw undecided(d);
    if (d.action === 'hold') items.push({ action: 'held', mapping: mapping.name, path, detail: 'delete guard' });
    else if (d.action === 'delete') items.push({ action: 'delete', mapping: mapping.name, path, detail: `asset ${row.assetId}` });
    else if (d.action === 'forget')
      items.push({ action: 'forget', mapping: mapping.name, path, detail: 'kept on the server (deletes: keep)' });
    else throw undecided(d);
  }
  return heldBecause !== null;
}

/** Assets kept because content used them, whose file is still gone: asked again, as a run would. */
function planKeptReferenced(run: PlanRun, held: boolean): void {
  const { mapping, deps, walk, items } = run;
  if (walk.rootMissing || mapping.deletes !== 'delete') return;
  for (const path of deps.state.kept.paths(mapping.name, 'referenced')) {
    if (walk.entries.has(path)) continue;
    const assetId = deps.state.kept.get(mapping.name, path)?.assetId;
    items.push({
      action: held ? 'held' : 'delete',
      mapping: mapping.name,
      path,
      detail: `asset ${assetId}, kept while content used it: deleted unless content still uses it`,
    });
  }
}

function tusDetail(state: State, tus: PlanTus, mapping: string, path: string, size: number): string {
  const pending = state.uploads.get(mapping, path);
  const resume = pending && pending.size === size && pending.confirmed > 0 ? `, resumes at ${formatBytes(pending.confirmed)}` : '';
  return `, through tus in pieces of ${formatBytes(tus.chunkBytes)}${resume}`;
}

function dedupeFolders(items: PlanItem[]): PlanItem[] {
  const seen = new Set<string>();
  return items.filter((i) => i.action !== 'create-folder' || (!seen.has(i.path) && seen.add(i.path) !== undefined));
}

/** Looks folders up by path without creating any. */
class FolderLookup {
  readonly #ids = new Map<string, string | null>([['', ROOT_FOLDER_ID]]);
  constructor(private readonly client: SquidexClient) {}

  async find(path: string): Promise<string | null> {
    if (this.#ids.has(path)) return this.#ids.get(path)!;
    const cut = path.lastIndexOf('/');
    const parentPath = cut < 0 ? '' : path.slice(0, cut);
    const parent = await this.find(parentPath);
    let id: string | null = null;
    if (parent !== null) {
      const name = path.slice(cut + 1);
      id = (await this.client.listFolders(parent)).find((f) => f.folderName === name)?.id ?? null;
    }
    this.#ids.set(path, id);
    return id;
  }

  missingPrefixes(path: string): string[] {
    const parts = path.split('/');
    return parts.map((_, i) => parts.slice(0, i + 1).join('/')).filter((p) => this.#ids.get(p) === null);
  }
}

/**
 * The hash `once` would take, read as it would read it: never through a
 * symlink, nothing outside the mapping; with what the file says, from the
 * same pass (`embedded`), null when it was not read for that.
 */
async function hashInside(
  root: string,
  abs: string,
  embedded: boolean,
): Promise<{ digest: FileDigest; meta: FileMetadata | null; st: { size: number; mtimeMs: number } } | null> {
  try {
    const st = await lstat(abs);
    if (!st.isFile()) return null;
    const file = await openInside(root, abs, st, 'pooled');
    try {
      const sniff = embedded ? new MetadataSniffer(abs, file.stat.size) : undefined;
      const digest = await hashFile(file, undefined, sniff?.wanted ? (c, at) => sniff.feed(c, at) : undefined);
      return { digest, meta: sniff?.wanted ? await sniff.result(file) : null, st: file.stat };
    } finally {
      await file.close();
    }
  } catch {
    return null;
  }
}
