import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { SyncError } from '../lib/errors.js';
import { MetadataSniffer } from '../metadata/index.js';
import type { AssetDto, UploadResult } from '../squidex/index.js';
import type { FileRow } from '../state/index.js';
import type { Job } from '../queue/index.js';
import type { Outcome, ReconcileContext } from './context.js';
import { fileError, isGone } from './fserrors.js';
import { existsExactly } from './exact.js';
import { handleGone } from './gone.js';
import { hashFile, type FileDigest } from './hash.js';
import { fileAccessFor, readSmall, SMALL_FILE_BYTES, type FileAccess } from './localfs.js';
import { isRefusal, openInside, type OpenFile } from './openfile.js';
import { skipTextOf } from './skips.js';
import { META_PATH, META_SHA, remoteDirOf, remoteFileOf, type MappingRuntime } from './mapping.js';
import { findMoveSource, applyMove } from './move.js';
import { movedWithFolder } from './foldermove.js';
import { stampBody } from './stamps.js';
import { readsEmbedded } from './annotation.js';
import { annotation, keepSource, stamp, tap } from './annotate.js';
import { isSidecar } from './sidecar.js';
import { reconcileAnnotate, reconcileSidecar } from './retag.js';
import { verifyStore } from '../verify/store.js';
import { sendContent } from './bigupload.js';

/**
 * Reconcile one path: look at the file as it is now and make the server
 * match. Events and rescans only say "look here"; every decision is made
 * from the disk, the files table and the server at the time the job runs.
 */
export async function reconcile(job: Job, ctx: ReconcileContext, signal?: AbortSignal): Promise<Outcome> {
  const mapping = ctx.mappings.get(job.mapping);
  if (!mapping) return { action: 'skip', detail: 'mapping no longer configured' };
  if (isSidecar(mapping, job.path)) return reconcileSidecar(job, mapping, ctx);
  const abs = join(mapping.local, job.path);
  const row = ctx.state.files.get(mapping.name, job.path);
  const io = fileAccessFor(mapping.local);

  let st: Stats;
  try {
    st = await io.lstat(abs);
  } catch (e) {
    if (isGone(e)) return handleGone(mapping, job.path, row, ctx, job.reason);
    throw fileError(e, abs);
  }
  // A directory, symlink, FIFO or socket where a file was: the file is gone.
  // Symlinks are never followed (a link out of the mapping would upload
  // files nobody put in the share), so they count as "no file" too.
  if (!st.isFile()) {
    if (!st.isDirectory()) ctx.state.skipped.put(mapping.name, job.path, skipTextOf(st), ctx.clock.now());
    return row ? handleGone(mapping, job.path, row, ctx) : { action: 'skip', detail: 'not a regular file' };
  }
  // Reported gone, yet lstat finds it: on a case-insensitive share that is the
  // new spelling of a renamed file answering for the old one; or a folder on
  // the way was swapped for a symlink (lstat follows those), which the open
  // below refuses, so no shortcut is taken for it.
  const reportedGone = job.reason === 'gone' || job.reason === 'unlink';
  if (row && reportedGone && !(await existsExactly(mapping.local, job.path))) {
    return handleGone(mapping, job.path, row, ctx);
  }

  if (!reportedGone && row?.sha256 && row.missingSince === null && row.size === st.size && row.mtimeMs === st.mtimeMs) {
    return job.reason === 'annotate' ? reconcileAnnotate(mapping, job.path, row, st, ctx) : { action: 'none' };
  }

  // From here on the file is read through one descriptor only, checked to be
  // the regular file lstat saw and to lie inside the mapping.
  let file: OpenFile;
  try {
    file = await openInside(mapping.local, abs, st, io.mode);
  } catch (e) {
    if (isGone(e)) return handleGone(mapping, job.path, row, ctx);
    if (isRefusal(e)) return refused(mapping, job.path, row, e, ctx);
    if (e instanceof SyncError && e.code === 'FILE_REPLACED') return { action: 'none', requeueAfterMs: ctx.stabilityMs ?? 2000, detail: 'file replaced while opening' };
    throw fileError(e, abs);
  }
  try {
    return await reconcileOpen(job, mapping, row, { abs, file, st: file.stat }, ctx, signal);
  } finally {
    await file.close();
  }
}

/** A file opened by openInside, with its path for messages and its fstat as opened. */
interface Opened {
  abs: string;
  file: OpenFile;
  st: Stats;
  /** Sees the bytes as they are read for the hash or the upload, when the mapping reads embedded metadata. */
  sniff?: MetadataSniffer;
}

async function reconcileOpen(
  job: Job,
  mapping: MappingRuntime,
  row: FileRow | undefined,
  opened: Opened,
  ctx: ReconcileContext,
  signal?: AbortSignal,
): Promise<Outcome> {
  const { abs, file, st } = opened;
  if (readsEmbedded(mapping)) opened.sniff = new MetadataSniffer(posix.basename(job.path), st.size);
  const sniff = opened.sniff?.wanted ? opened.sniff : undefined;
  if (!row && st.size >= UNHASHED_MIN_BYTES) {
    // A big new file that can be neither a move nor an adoption needs no hash
    // before its upload: reading it twice halves the throughput. The bytes are
    // hashed as they are sent, and that hash is what gets recorded.
    const parentId = await ctx.resolver.resolve(remoteDirOf(mapping, job.path));
    if (!(await mightBeKnown(mapping, job.path, parentId, st.size, ctx))) {
      return upload(mapping, job, row, parentId, undefined, opened, ctx, signal);
    }
  }

  let digest: FileDigest;
  let data: Buffer | undefined;
  try {
    if (st.size <= SMALL_FILE_BYTES) {
      const small = await readSmall(file, st.size, signal);
      digest = { sha256: small.sha256, size: small.size };
      data = small.data;
      sniff?.feed(data, 0);
    } else {
      digest = await hashFile(file, signal, sniff && ((chunk, at) => sniff.feed(chunk, at)));
    }
  } catch (e) {
    if (isGone(e)) return handleGone(mapping, job.path, row, ctx);
    throw fileError(e, abs);
  }
  if (digest.size !== st.size) return { action: 'none', requeueAfterMs: outran(mapping, job.path, ctx), detail: 'file changed while hashing' };

  if (row?.sha256 === digest.sha256) {
    ctx.state.files.recordSynced({ ...row, size: st.size, mtimeMs: st.mtimeMs, missingSince: null });
    return { action: 'touch' };
  }

  const parentId = await ctx.resolver.resolve(remoteDirOf(mapping, job.path));
  if (!row) {
    // A folder rename (the rescan's, or another worker's) may have given this path its row meanwhile.
    if (ctx.state.files.get(mapping.name, job.path)?.sha256 === digest.sha256) return { action: 'none', detail: 'moved with its folder' };
    const moved = await findMoveSource(mapping, job.path, digest, ctx);
    if (moved && (await movedWithFolder(mapping, moved.path, job.path, ctx))) return { action: 'none', detail: 'moved with its folder' };
    if (moved) return applyMove(mapping, moved, job.path, parentId, st, ctx);
    const adopted = await adopt(mapping, job.path, parentId, digest, opened, ctx);
    if (adopted && 'action' in adopted) return adopted;
    if (adopted) return upload(mapping, job, adopted.reserved, parentId, digest, opened, ctx, signal, data);
  }
  return upload(mapping, job, row, parentId, digest, opened, ctx, signal, data);
}

/**
 * A path that is not a regular file of the mapping (a symlink or FIFO swapped
 * in, or a folder on the way swapped for a symlink): nothing is read from it.
 * For the mirror it is a file that is no longer there.
 */
async function refused(mapping: MappingRuntime, relPath: string, row: FileRow | undefined, e: SyncError, ctx: ReconcileContext): Promise<Outcome> {
  ctx.state.skipped.put(mapping.name, relPath, e.code === 'OUTSIDE_MAPPING' ? 'outside the mapping' : 'not a regular file', ctx.clock.now());
  const gone = row ? await handleGone(mapping, relPath, row, ctx) : { action: 'skip' as const };
  return { ...gone, detail: e.message, warn: true };
}

/** Below this, hashing first costs little and keeps one path for most files. */
const UNHASHED_MIN_BYTES = 8 * 1024 * 1024;
/** More synced files of one size than this: do not look further, hash first. */
const SAME_SIZE_LOOKUPS = 16;

/** Could this new file be a move of a vanished file of the same size, or an asset already on the server? */
async function mightBeKnown(mapping: MappingRuntime, relPath: string, parentId: string, size: number, ctx: ReconcileContext): Promise<boolean> {
  const sameSize = ctx.state.files.findBySize(mapping.name, size, SAME_SIZE_LOOKUPS + 1);
  if (sameSize.length > SAME_SIZE_LOOKUPS) return true;
  for (const r of sameSize) {
    if (r.path === relPath) continue;
    try {
      if ((await lstat(join(mapping.local, r.path))).isFile()) continue;
    } catch {
      // gone: a move source candidate
    }
    return true;
  }
  return ctx.adoption.mayMatch(parentId, remoteFileOf(mapping, relPath), posix.basename(relPath));
}

async function adopt(
  mapping: MappingRuntime,
  relPath: string,
  parentId: string,
  digest: FileDigest,
  opened: Opened,
  ctx: ReconcileContext,
): Promise<Outcome | { reserved: FileRow } | null> {
  const st = opened.st;
  const files = ctx.state.files;
  const found = await ctx.adoption.find(
    parentId,
    remoteFileOf(mapping, relPath),
    posix.basename(relPath),
    digest,
    (id) => files.getByAssetId(id) !== undefined,
  );
  if (!found) return null;
  let asset: Pick<AssetDto, 'id' | 'parentId' | 'version'> = found.asset;
  if (!found.sameContent) {
    // Our stamp says this asset is this path, with older content: keep the id, replace the bytes.
    return { reserved: files.reserve(mapping.name, relPath, asset.id) };
  }
  // Adopted: the tags already on it are the editors' (squidex-sync owns none it did not add).
  const { plan, source } = await annotation(mapping, relPath, asset.id, opened, ctx, { fresh: false });
  if (found.asset.stampedSha !== digest.sha256 || found.asset.stampedPath !== remoteFileOf(mapping, relPath) || plan) {
    // The listing keeps no metadata but ours; the stamp is merged into the asset's as it is now.
    const full = await ctx.client.getAsset(asset.id);
    if (!full) {
      ctx.adoption.forget(parentId); // deleted since the listing: upload instead
      return null;
    }
    asset = await stamp(full, mapping, relPath, digest.sha256, ctx, plan);
  }
  files.reserve(mapping.name, relPath, asset.id);
  keepSource(asset.id, source, ctx);
  record(mapping, relPath, asset, digest.sha256, st, ctx);
  return { action: 'adopt' };
}

async function upload(
  mapping: MappingRuntime,
  job: Job,
  row: FileRow | undefined,
  parentId: string,
  /** The hash taken before the upload; undefined when there was no need (see mightBeKnown). */
  digest: FileDigest | undefined,
  opened: Opened,
  ctx: ReconcileContext,
  signal?: AbortSignal,
  /** The file's bytes when it was small enough to read whole (digest is their hash). */
  data?: Buffer,
): Promise<Outcome> {
  const relPath = job.path;
  const files = ctx.state.files;
  const { abs, file, st, sniff } = opened;
  const read = sniff?.wanted ? tap(file, sniff) : file;
  const src = { path: abs, file: read, fileName: posix.basename(relPath), bytes: data && digest ? { data, sha256: digest.sha256 } : undefined };
  // A row without a hash is an upload that may or may not have reached the
  // server (or an adopted asset with older content): upserting that id again
  // is safe either way. A new path takes the id its job was given when it was
  // claimed; that id is already durable, so a lost response or a crash never
  // makes a second asset.
  // Read again: a rescan's folder rename may have given this path a row while the job ran.
  const known = files.get(mapping.name, relPath) ?? row;
  const existing = known?.sha256 ? known : undefined;
  const assetId = known?.assetId ?? job.assetHint;
  // Should this run fail now, its upload may still have reached the server: the pool then
  // stores the id as a reservation, so a file deleted or renamed before the retry still
  // leads to this asset.
  if (!known) job.hintSent = true;
  if (existing && ctx.serverChanges) {
    const held = await ctx.serverChanges.beforeReplace(mapping.name, existing);
    if (held) return held;
  }

  let result: UploadResult;
  const kind = existing ? 'replace' : 'new';
  // Big files go through tus (an upsert under the same id, resumable), the rest as one request.
  const big = { mapping: mapping.name, path: relPath, assetId, parentId, fileName: src.fileName, file: read, st, sha256: digest?.sha256, signal };
  try {
    result = await sendContent(ctx, big, () =>
      existing ? ctx.client.replaceContent(assetId, src, { signal }) : ctx.client.upsertAsset(assetId, parentId, src, { signal }),
    );
  } catch (e) {
    const code = e instanceof SyncError ? e.code : '';
    if (existing && (code === 'NOT_FOUND' || code === 'GONE')) {
      // Someone deleted the asset on the server while the file lives on: bring it back under the same id.
      result = await sendContent(ctx, big, () => ctx.client.upsertAsset(assetId, parentId, src, { signal }));
    } else if (code === 'FOLDER_NOT_FOUND') {
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

  if ((digest && result.sha256 !== digest.sha256) || !(await unchangedSince(fileAccessFor(mapping.local), abs, st))) {
    // The bytes that went out are not the bytes we hashed: the file changed
    // during the upload. Keep the asset id, forget the hash, run again.
    const write = (): void => files.recordSynced({
      mapping: mapping.name, path: relPath, size: null, mtimeMs: null, sha256: null, assetId, parentId,
      version: result.asset.version, syncedAt: ctx.clock.now(), missingSince: null,
    });
    if (ctx.defer) ctx.defer(write);
    else write();
    return { action: kind === 'new' ? 'upload' : 'replace', requeueAfterMs: outran(mapping, relPath, ctx), detail: 'file changed during upload' };
  }
  // Squidex replaced the asset's metadata with the upload: every wanted key goes back.
  const { plan, source } = await annotation(mapping, relPath, assetId, opened, ctx, { fresh: true, brandNew: !known }, signal);
  // The stamp goes out later, in a bulk request with others: this job is done
  // once its bytes are on the server, and a first sync costs one request per file.
  // What the file said is stored with what the stamp leaves behind, in one write.
  const later = ctx.stamper && ctx.defer ? stampBody(result.asset, mapping, relPath, result.sha256, plan, source) : null;
  if (!later) keepSource(assetId, source, ctx);
  if (later) {
    const now = ctx.clock.now();
    ctx.defer!(() => ctx.state.stamps.put(assetId, later, now));
    record(mapping, relPath, result.asset, result.sha256, st, ctx);
    return { action: kind === 'new' ? 'upload' : 'replace' };
  }
  const asset = await stamp(result.asset, mapping, relPath, result.sha256, ctx, plan);
  record(mapping, relPath, asset, result.sha256, st, ctx);
  return { action: kind === 'new' ? 'upload' : 'replace' };
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
function outran(mapping: MappingRuntime, relPath: string, ctx: ReconcileContext): number {
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

export function record(
  mapping: MappingRuntime,
  relPath: string,
  // fileVersion: absent for an adoption from a lean listing (then unknown until verify sees our stamp).
  asset: Pick<AssetDto, 'id' | 'parentId' | 'version'> & Partial<Pick<AssetDto, 'fileVersion'>>,
  sha256: string,
  st: Stats,
  ctx: ReconcileContext,
): void {
  ctx.unstable?.delete(`${mapping.name}\0${relPath}`);
  const write = (): void => {
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
  };
  if (ctx.defer) ctx.defer(write);
  else write();
}

/**
 * Did the file change while it was being sent? A file renamed or deleted right
 * after its upload did not: what went out is what it held (an open handle keeps
 * reading the same inode, and the hash of the bytes sent is checked). Counting
 * that as a change recorded the row without a hash, so a folder renamed the
 * moment its uploads finished was not recognised as a rename, and under
 * `deletes: keep` its files were uploaded a second time.
 */
async function unchangedSince(io: FileAccess, abs: string, before: Stats): Promise<boolean> {
  try {
    const now = await io.lstat(abs);
    return now.size === before.size && now.mtimeMs === before.mtimeMs;
  } catch (e) {
    return isGone(e);
  }
}
