/**
 * The steps a decision (decide.ts) leads to: the requests to Squidex and what
 * is recorded of them. reconcile.ts and gone.ts call these and decide nothing
 * here beyond how a request went.
 */
import { posix } from 'node:path';
import type { Stats } from 'node:fs';
import { SyncError } from '../lib/errors.js';
import type { MetadataSniffer } from '../metadata/index.js';
import { contentTypeFor, isGoneOnServer, isReferencedError, type AssetDto, type UploadResult } from '../squidex/index.js';
import type { FileRow, Job } from '../state/index.js';
import { verifyStore } from '../verify/store.js';
import { annotation, keepSource, planFor, stamp, tap } from './annotate.js';
import type { SendArgs } from './sendargs.js';
import type { JobContext, Outcome } from './context.js';
import { isGone } from './fserrors.js';
import type { FileDigest } from './hash.js';
import { fileAccessFor, type FileAccess } from './localfs.js';
import { remoteDirOf, remoteFileOf, type MappingRuntime } from './mapping.js';
import type { OpenFile } from './openfile.js';
import { stampBody } from './stampbody.js';

/** A file opened by openInside, with its path for messages and its fstat as opened. */
export interface Opened {
  abs: string;
  file: OpenFile;
  st: Stats;
  /** Sees the bytes as they are read for the hash or the upload, when the mapping reads embedded metadata. */
  sniff?: MetadataSniffer;
}

export interface UploadOptions {
  mapping: MappingRuntime;
  job: Job;
  /** The path's row when the job began (a reserved one for an adoption of older content). */
  row: FileRow | undefined;
  /** FilesRepo.moves when `row` was read: while it is unchanged, so is the row. */
  rowAt?: number;
  parentId: string;
  /** The hash taken before the upload; undefined when there was no need (decide.ts, UNHASHED_MIN_BYTES). */
  digest: FileDigest | undefined;
  opened: Opened;
  /** The file's bytes when it was small enough to read whole (digest is their hash). */
  data?: Buffer;
  signal?: AbortSignal;
}

/**
 * Sends the file's content: an upsert under the path's asset id (or the job's
 * hint for a new path), or a replacement of a synced asset's content; then
 * records the synced row and leaves the stamp for the next bulk request.
 */
export async function upload(o: UploadOptions, ctx: JobContext): Promise<Outcome> {
  const { mapping, job, row, rowAt, parentId, digest, opened, data, signal } = o;
  const relPath = job.path;
  const files = ctx.state.files;
  const { abs, file, st, sniff } = opened;
  const read = sniff?.wanted ? tap(file, sniff) : file;
  const src = {
    path: abs,
    file: read,
    fileName: posix.basename(relPath),
    bytes: data && digest ? { data, sha256: digest.sha256 } : undefined,
  };
  // A row without a hash is an upload that may or may not have reached the
  // server (or an adopted asset with older content): upserting that id again
  // is safe either way. A new path takes the id its job was given when it was
  // claimed; that id is already durable, so a lost response or a crash never
  // makes a second asset.
  // Read again if rows moved since: a rescan's folder rename may have given this path a row while the job ran.
  const known = rowAt !== undefined && files.moves === rowAt ? row : (files.get(mapping.name, relPath) ?? row);
  const existing = known?.sha256 ? known : undefined;
  const assetId = known?.assetId ?? job.assetHint;
  // Should this run fail now, its upload may still have reached the server: the pool then
  // stores the id as a reservation, so a file deleted or renamed before the retry still
  // leads to this asset.
  if (!known) job.hintSent = true;
  if (existing && ctx.serverChanges) {
    const held = await ctx.serverChanges.beforeReplace(mapping.name, existing, signal);
    if (held) return held;
  }

  let result: UploadResult;
  const kind = existing ? 'replace' : 'new';
  // Big files go through tus (an upsert under the same id, resumable), the rest as one request.
  const big = {
    mapping: mapping.name,
    path: relPath,
    assetId,
    parentId,
    fileName: src.fileName,
    file: read,
    st,
    sha256: digest?.sha256,
    signal,
  };
  try {
    result = await sendContent(ctx, big, () =>
      existing ? ctx.client.replaceContent(assetId, src, { signal }) : ctx.client.upsertAsset(assetId, parentId, src, { signal }),
    );
  } catch (e) {
    if (existing && isGoneOnServer(e)) {
      // Someone deleted the asset on the server while the file lives on: bring it back under the same id.
      result = await sendContent(ctx, big, () => ctx.client.upsertAsset(assetId, parentId, src, { signal }));
    } else if (e instanceof SyncError && e.code === 'FOLDER_NOT_FOUND') {
      ctx.resolver.invalidate(remoteDirOf(mapping, relPath));
      throw new SyncError('FOLDER_GONE', `The asset folder for ${relPath} was deleted on the server; it will be created again.`, {
        cause: e,
        retry: 'retry',
      });
    } else {
      throw e;
    }
  }
  ctx.events?.uploaded?.(kind, result.bytes);
  const action = kind === 'new' ? 'upload' : 'replace';

  if ((digest && result.sha256 !== digest.sha256) || !(await unchangedSince(fileAccessFor(mapping.local), abs, st))) {
    // The bytes that went out are not the bytes we hashed: the file changed
    // during the upload. Keep the asset id, forget the hash, run again.
    ctx.defer(() =>
      files.recordSynced({
        mapping: mapping.name,
        path: relPath,
        size: null,
        mtimeMs: null,
        sha256: null,
        assetId,
        parentId,
        version: result.asset.version,
        syncedAt: ctx.clock.now(),
        missingSince: null,
      }),
    );
    return { action, requeueAfterMs: outran(mapping, relPath, ctx), detail: 'file changed during upload' };
  }
  // Squidex replaced the asset's metadata with the upload: every wanted key goes back.
  const { plan, source } = await annotation({ mapping, relPath, assetId }, opened, ctx, { fresh: true, brandNew: !known, signal });
  // The stamp goes out later, in a bulk request with others: this job is done
  // once its bytes are on the server, and a first sync costs one request per file.
  // What the file said is stored with what the stamp leaves behind, in one write.
  const later = stampBody(result.asset, { mapping, relPath, sha256: result.sha256 }, plan, source);
  if (later) {
    const now = ctx.clock.now();
    ctx.defer(() => ctx.state.stamps.put(assetId, later, now));
    record(mapping, relPath, { asset: result.asset, sha256: result.sha256, st }, ctx);
    return { action };
  }
  // A case-only rename needs a detour through another name: only a direct annotate does that.
  keepSource(assetId, source, ctx);
  const asset = await stamp(result.asset, { mapping, relPath, sha256: result.sha256 }, ctx, plan);
  record(mapping, relPath, { asset, sha256: result.sha256, st }, ctx);
  return { action };
}

/** Uploads in a row a file may outrun before its job counts as failing (and backs off, and ends). */
const MAX_OUTRUN = 5;

/**
 * The file changed while we read it. Try again once it has been quiet for
 * the stability window, longer each time it happens again, so a file that is
 * written without pause (a log, a recording) is not uploaded in a tight
 * loop; after MAX_OUTRUN the job fails like any retryable error (back-off,
 * then `failed` after maxAttempts, which `once` reports and a change revives).
 */
export function outran(mapping: MappingRuntime, relPath: string, ctx: JobContext): number {
  const key = `${mapping.name}\0${relPath}`;
  const n = (ctx.unstable?.get(key) ?? 0) + 1;
  ctx.unstable?.set(key, n);
  if (n > MAX_OUTRUN) {
    ctx.unstable?.delete(key);
    throw new SyncError('FILE_UNSTABLE', `${relPath} kept changing while it was being read (${MAX_OUTRUN} times in a row).`, {
      retry: 'retry',
      hint: 'It is uploaded once it stops changing.',
    });
  }
  return Math.min(300_000, (ctx.stabilityMs ?? 2000) * 2 ** (n - 1));
}

/** The path is in sync with this asset: its synced row, written with the job's completion. */
export interface Synced {
  // fileVersion: absent for an adoption from a lean listing (then unknown until verify sees our stamp).
  asset: Pick<AssetDto, 'id' | 'parentId' | 'version'> & Partial<Pick<AssetDto, 'fileVersion'>>;
  sha256: string;
  st: Pick<Stats, 'size' | 'mtimeMs'>;
}

export function record(mapping: MappingRuntime, relPath: string, synced: Synced, ctx: JobContext): void {
  const { asset, sha256, st } = synced;
  ctx.unstable?.delete(`${mapping.name}\0${relPath}`);
  ctx.defer(() => {
    ctx.state.skipped.clear(mapping.name, relPath);
    ctx.state.files.recordSynced({
      mapping: mapping.name,
      path: relPath,
      size: st.size,
      mtimeMs: st.mtimeMs,
      sha256,
      assetId: asset.id,
      parentId: asset.parentId,
      version: asset.version,
      syncedAt: ctx.clock.now(),
      missingSince: null,
    });
    // The content version we leave behind: a different one later means someone else uploaded.
    verifyStore(ctx.state.db).wrote(asset.id, asset.fileVersion);
  });
}

/**
 * Did the file change while it was being sent? A file renamed or deleted right
 * after its upload did not: what went out is what it held (an open handle keeps
 * reading the same inode, and the hash of the bytes sent is checked).
 */
async function unchangedSince(io: FileAccess, abs: string, before: Stats): Promise<boolean> {
  try {
    const now = await io.lstat(abs);
    return now.size === before.size && now.mtimeMs === before.mtimeMs;
  } catch (e) {
    return isGone(e);
  }
}

/** Moves (and renames, by its stamp) the asset of a vanished file to the path its bytes reappeared at. */
export interface MoveArgs {
  mapping: MappingRuntime;
  from: FileRow;
  toPath: string;
  parentId: string;
  st: Stats;
  /** The job aborted at a stop: the request on the wire is cut, and the claimed row re-runs as an upsert. */
  signal?: AbortSignal;
}

export async function applyMove(m: MoveArgs, ctx: JobContext): Promise<Outcome> {
  const { mapping, from, toPath, parentId, st, signal } = m;
  // Claim the source row first, in one statement: when two new copies race
  // for one vanished file, one moves it and the other uploads a new asset.
  // The claimed row loses its hash, so a crash before the server calls end
  // re-runs this path as an upsert of the same id (moved, content re-sent).
  if (!ctx.state.files.claimForMove(mapping.name, from.path, toPath)) return { action: 'none', requeueAfterMs: 0 };
  const sha256 = from.sha256!;
  let asset: AssetDto | null;
  try {
    asset =
      from.parentId !== parentId
        ? await ctx.client.moveAsset(from.assetId, parentId, { signal })
        : await ctx.client.getAsset(from.assetId, { signal });
  } catch (e) {
    if (isGoneOnServer(e)) asset = null;
    else throw e;
  }
  if (!asset) {
    // Deleted on the server meanwhile: the claimed row (hash cleared) uploads afresh under the same id.
    return { action: 'none', requeueAfterMs: 0, detail: 'moved asset no longer on the server' };
  }
  // Same content: what the file said is what was stored; its folder (folderTags) and sidecar may differ.
  const plan = await planFor({ mapping, relPath: toPath, assetId: asset.id }, ctx, { fresh: false });
  asset = await stamp(asset, { mapping, relPath: toPath, sha256, signal }, ctx, plan);
  record(mapping, toPath, { asset, sha256, st }, ctx);
  return { action: 'move', detail: `from ${from.path}` };
}

export type Adoption = { kind: 'adopted' } | { kind: 'vanished' };

/**
 * Takes an asset already in the folder as this file's (same content): stamps
 * it when our stamp or the wanted tags differ, and records it. `vanished`: it
 * was deleted since the folder was listed, so the file is uploaded instead.
 */
export interface AdoptArgs {
  mapping: MappingRuntime;
  relPath: string;
  parentId: string;
  asset: Pick<AssetDto, 'id' | 'parentId' | 'version'> & { stampedSha?: string; stampedPath?: string };
  digest: FileDigest;
  opened: Opened;
  /** The job aborted at a stop: the request on the wire is cut, and nothing is recorded. */
  signal?: AbortSignal;
}

export async function adoptAsset(a: AdoptArgs, ctx: JobContext): Promise<Adoption> {
  const { mapping, relPath, digest, opened, signal } = a;
  const found = a;
  let asset: Pick<AssetDto, 'id' | 'parentId' | 'version'> = found.asset;
  // Adopted: the tags already on it are the editors' (squidex-sync owns none it did not add).
  const { plan, source } = await annotation({ mapping, relPath, assetId: asset.id }, opened, ctx, { fresh: false });
  if (found.asset.stampedSha !== digest.sha256 || found.asset.stampedPath !== remoteFileOf(mapping, relPath) || plan) {
    // The listing keeps no metadata but ours; the stamp is merged into the asset's as it is now.
    const full = await ctx.client.getAsset(asset.id, { signal });
    if (!full) {
      ctx.adoption.forget(a.parentId);
      return { kind: 'vanished' };
    }
    asset = await stamp(full, { mapping, relPath, sha256: digest.sha256, signal }, ctx, plan);
  }
  ctx.state.files.reserve(mapping.name, relPath, asset.id);
  keepSource(asset.id, source, ctx);
  record(mapping, relPath, { asset, sha256: digest.sha256, st: opened.st }, ctx);
  return { kind: 'adopted' };
}

/**
 * Deletes the asset of a gone file, asking Squidex to check referrers. An
 * asset that content still uses is refused: it stays, the path is listed as
 * kept with its asset id (nothing is forgotten), and the next full rescan
 * asks again; a file put back re-adopts it.
 */
export interface DeleteArgs {
  mapping: MappingRuntime;
  relPath: string;
  row: Pick<FileRow, 'assetId' | 'parentId' | 'missingSince'>;
  /** Puts the row back when the delete must be tried again. */
  undo: () => void;
  signal?: AbortSignal;
}

export async function deleteOrKeep(d: DeleteArgs, ctx: Pick<JobContext, 'client' | 'state' | 'clock' | 'adoption'>): Promise<Outcome> {
  const { mapping, relPath, row, undo, signal } = d;
  try {
    await ctx.client.deleteAsset(row.assetId, { permanent: mapping.permanentDeletes, signal });
  } catch (e) {
    if (isReferencedError(e)) {
      const first = ctx.state.kept.get(mapping.name, relPath)?.reason !== 'referenced';
      ctx.state.kept.put(
        { mapping: mapping.name, path: relPath, assetId: row.assetId, goneSince: row.missingSince ?? ctx.clock.now() },
        'referenced',
      );
      const detail = `kept asset ${row.assetId} of ${relPath}: Squidex refused to delete it, content still uses it (asked again at the next full rescan)`;
      // Said once; the rescans that ask again say nothing new.
      return { action: 'referenced', detail, warn: first };
    }
    // Already gone on the server is the outcome we wanted. Any other
    // failure puts the row back, so the delete is tried again.
    if (!isGoneOnServer(e)) {
      undo();
      throw e;
    }
  }
  ctx.state.annotations.remove(row.assetId);
  // The folder listing used for adoption still shows this asset: a file put back must be uploaded, not "adopted" from the recycle bin.
  if (row.parentId) ctx.adoption.forget(row.parentId);
  return { action: 'delete' };
}

/** An upload through BigUploads (tus above upload.tusAboveBytes) when the runtime has one, else the multipart request. */
function sendContent(
  ctx: Pick<JobContext, 'big' | 'stopping' | 'defer'>,
  a: Omit<SendArgs, 'mimeType' | 'stopping' | 'defer'>,
  multipart: () => Promise<UploadResult>,
): Promise<UploadResult> {
  if (!ctx.big) return multipart();
  return ctx.big.send({ ...a, mimeType: contentTypeFor(a.fileName), stopping: ctx.stopping, defer: ctx.defer }, multipart);
}
