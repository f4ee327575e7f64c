import { lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { untilAborted } from '../lib/abort.js';
import { SyncError } from '../lib/errors.js';
import { MetadataSniffer } from '../metadata/index.js';
import { giveBack } from '../squidex/multipart.js';
import type { FileRow, Job } from '../state/index.js';
import type { JobContext, Outcome, ReconcileContext } from './context.js';
import { decide, undecided, type Decision, type FileObservation } from './decide.js';
import { adoptAsset, applyMove, outran, upload, type Opened } from './effects.js';
import { fileError, isGone } from './fserrors.js';
import { existsExactly } from './exact.js';
import { handleGone } from './gone.js';
import { hashFile, type FileDigest } from './hash.js';
import { fileAccessFor, readSmall, SMALL_FILE_BYTES } from './localfs.js';
import { isRefusal, openInside } from './openfile.js';
import { skipTextOf } from './skips.js';
import { remoteDirOf, remoteFileOf, type MappingRuntime } from './mapping.js';
import { findMoveSource } from './move.js';
import { movedWithFolder } from './foldermove.js';
import { readsEmbedded } from './annotation.js';
import { isSidecar } from './sidecar.js';
import { reconcileAnnotate, reconcileSidecar } from './retag.js';

/**
 * Reconcile one path: look at the file as it is now and make the server
 * match. Events and rescans only say "look here"; every decision is made
 * (decide.ts) from the disk, the files table and the server at the time the job runs.
 */
export async function reconcile(job: Job, ctx: JobContext, signal?: AbortSignal): Promise<Outcome> {
  const mapping = ctx.mappings.get(job.mapping);
  if (!mapping) return { action: 'skip', detail: 'mapping no longer configured' };
  if (isSidecar(mapping, job.path)) return reconcileSidecar(job, mapping, ctx, signal);
  const abs = join(mapping.local, job.path);
  const files = ctx.state.files;
  const rowAt = files.moves;
  // Read with the claim, unless a row moved since (then read again).
  const row = job.rowAt === rowAt && job.row !== undefined ? (job.row ?? undefined) : files.get(mapping.name, job.path);
  const io = fileAccessFor(mapping.local);

  let st: Stats;
  try {
    st = await io.lstat(abs);
  } catch (e) {
    if (isGone(e)) return handleGone(mapping, job, row, ctx, signal);
    throw fileError(e, abs);
  }
  // A directory, symlink, FIFO or socket where a file was: the file is gone.
  // Symlinks are never followed (a link out of the mapping would upload
  // files nobody put in the share), so they count as "no file" too.
  if (!st.isFile()) {
    if (!st.isDirectory()) ctx.state.skipped.put(mapping.name, job.path, skipTextOf(st), ctx.clock.now());
    return row ? handleGone(mapping, job.path, row, ctx, signal) : { action: 'skip', detail: 'not a regular file' };
  }
  // Reported gone, yet lstat finds it: on a case-insensitive share that is the
  // new spelling of a renamed file answering for the old one; or a folder on
  // the way was swapped for a symlink (lstat follows those), which the open
  // below refuses, so no shortcut is taken for it.
  const reportedGone = job.reason === 'gone' || job.reason === 'unlink';
  if (row && reportedGone && !(await existsExactly(mapping.local, job.path))) {
    return handleGone(mapping, job.path, row, ctx, signal);
  }

  const seen: FileObservation = {
    kind: 'file',
    row,
    size: st.size,
    mtimeMs: st.mtimeMs,
    reportedGone,
    annotateOnly: job.reason === 'annotate',
  };
  const first = decide(seen);
  if ('action' in first && first.action === 'none') return { action: 'none' };
  if ('action' in first && first.action === 'annotate') return reconcileAnnotate(mapping, row!, st, ctx, signal);

  // From here on the file is read through one descriptor only, checked to be
  // the regular file lstat saw and to lie inside the mapping.
  let opened: Opened;
  try {
    const file = await openInside(mapping.local, abs, st, io.mode);
    opened = { abs, file, st: file.stat };
  } catch (e) {
    if (isGone(e)) return handleGone(mapping, job.path, row, ctx, signal);
    if (isRefusal(e)) return refused(mapping, job.path, row, e, ctx);
    if (e instanceof SyncError && e.code === 'FILE_REPLACED')
      return { action: 'none', requeueAfterMs: ctx.stabilityMs ?? 2000, detail: 'file replaced while opening' };
    throw fileError(e, abs);
  }
  try {
    const open = new OpenRun(job, mapping, opened, ctx, signal, rowAt);
    const outcome = await open.run(seen);
    open.giveBackBytes();
    return outcome;
  } finally {
    await opened.file.close();
  }
}

/** One open file's way from its observations to the step decide() names. */
class OpenRun {
  #parentId: string | undefined;
  #data: Buffer | undefined;
  #moveSource: FileRow | null = null;
  #adoptable: { asset: Parameters<typeof adoptAsset>[0]['asset'] } | null = null;

  constructor(
    private readonly job: Job,
    private readonly mapping: MappingRuntime,
    private readonly opened: Opened,
    private readonly ctx: JobContext,
    private readonly signal: AbortSignal | undefined,
    /** FilesRepo.moves when the path's row was read. */
    private readonly rowAt: number | undefined,
  ) {
    if (readsEmbedded(mapping)) opened.sniff = new MetadataSniffer(posix.basename(job.path), opened.st.size);
  }

  /**
   * The job is over: its small file's memory may hold the next file read. What
   * the metadata readers took from it is strings or copies by now.
   */
  giveBackBytes(): void {
    if (this.#data) giveBack(this.#data);
    this.#data = undefined;
  }

  async run(seen: FileObservation): Promise<Outcome> {
    // The size and mtime checked before opening are the fstat's now.
    seen.size = this.opened.st.size;
    for (;;) {
      const d = decide(seen);
      if (!('need' in d)) return this.#act(d, seen);
      switch (d.need) {
        case 'known':
          seen.mightBeKnown = await this.#mightBeKnown();
          break;
        case 'hash': {
          const digest = await this.#hash();
          if (digest === null) return handleGone(this.mapping, this.job.path, seen.row as FileRow | undefined, this.ctx, this.signal);
          seen.digest = digest;
          break;
        }
        case 'move':
          seen.move = await this.#lookForMove(seen.digest!);
          break;
        case 'adoption':
          seen.adoption = await this.#lookForAdoption(seen.digest!);
          break;
        default:
          throw undecided(d);
      }
    }
  }

  async #act(d: Exclude<Decision, { need: unknown }>, seen: FileObservation): Promise<Outcome> {
    const { job, mapping, opened, ctx } = this;
    const row = seen.row as FileRow | undefined;
    const digest = seen.digest;
    switch (d.action) {
      case 'none':
        return { action: 'none', detail: d.detail };
      case 'annotate':
        return reconcileAnnotate(mapping, row!, opened.st, ctx, this.signal);
      case 'outran':
        return { action: 'none', requeueAfterMs: outran(mapping, job.path, ctx), detail: 'file changed while hashing' };
      case 'touch':
        // Bookkeeping of no server change: written at once, not with the completion.
        ctx.state.files.recordSynced({ ...row!, size: opened.st.size, mtimeMs: opened.st.mtimeMs, missingSince: null });
        return { action: 'touch' };
      case 'move':
        return applyMove(
          { mapping, from: this.#moveSource!, toPath: job.path, parentId: await this.#folder(), st: opened.st, signal: this.signal },
          ctx,
        );
      case 'adopt': {
        const adopted = await adoptAsset(
          {
            mapping,
            relPath: job.path,
            parentId: await this.#folder(),
            asset: this.#adoptable!.asset,
            digest: digest!,
            opened,
            signal: this.signal,
          },
          ctx,
        );
        if (adopted.kind === 'adopted') return { action: 'adopt' };
        return this.#upload(undefined, digest);
      }
      case 'upload':
        if (d.reserve !== undefined) {
          // Our stamp says this asset is this path, with older content: keep the id, replace the bytes.
          const at = ctx.state.files.moves;
          return this.#upload(ctx.state.files.reserve(mapping.name, job.path, d.reserve), digest, at);
        }
        return this.#upload(row, d.hashed ? digest : undefined);
      case 'replace':
        return this.#upload(row, digest);
      default:
        throw undecided(d);
    }
  }

  async #upload(row: FileRow | undefined, digest: FileDigest | undefined, rowAt = this.rowAt): Promise<Outcome> {
    const { job, mapping, opened, signal } = this;
    const parentId = await this.#folder();
    return upload({ mapping, job, row, rowAt, parentId, digest, opened, data: digest && this.#data, signal }, this.ctx);
  }

  #folder(): Promise<string> | string {
    if (this.#parentId !== undefined) return this.#parentId;
    const dir = remoteDirOf(this.mapping, this.job.path);
    // Most jobs find their folder known (made ahead, or by an earlier file): no wait, so nothing to abort.
    const known = this.ctx.resolver.cachedId(dir);
    if (known !== undefined) {
      this.#parentId = known;
      return known;
    }
    // The resolve is shared (single-flight with other jobs and the rescan's folders ahead) and takes
    // no signal: a job aborted at a stop leaves it, or the stop waits for a server that never answers.
    return untilAborted(this.ctx.resolver.resolve(dir), this.signal).then((id) => (this.#parentId = id));
  }

  /** The hash (and, for a small file, its bytes, sent from memory); null when the file went away meanwhile. */
  async #hash(): Promise<FileDigest | null> {
    const { file, st, abs } = this.opened;
    const sniff = this.opened.sniff?.wanted ? this.opened.sniff : undefined;
    try {
      if (st.size <= SMALL_FILE_BYTES) {
        const small = await readSmall(file, st.size, this.signal, true);
        this.#data = small.data;
        sniff?.feed(small.data, 0);
        return { sha256: small.sha256, size: small.size };
      }
      return await hashFile(file, this.signal, sniff && ((chunk, at) => sniff.feed(chunk, at)));
    } catch (e) {
      if (isGone(e)) return null;
      throw fileError(e, abs);
    }
  }

  async #lookForMove(digest: FileDigest): Promise<FileObservation['move']> {
    const { mapping, job, ctx } = this;
    await this.#folder();
    // A folder rename (the rescan's, or another worker's) may have given this path its row meanwhile.
    const files = ctx.state.files;
    if (files.moves !== this.rowAt && files.get(mapping.name, job.path)?.sha256 === digest.sha256) return { from: null, withFolder: true };
    const moved = await findMoveSource(mapping, job.path, digest, ctx);
    if (moved && (await movedWithFolder(mapping, { from: moved.path, to: job.path }, ctx, this.signal)))
      return { from: moved.path, withFolder: true };
    this.#moveSource = moved;
    return { from: moved?.path ?? null, withFolder: false };
  }

  async #lookForAdoption(digest: FileDigest): Promise<FileObservation['adoption']> {
    const { mapping, job, ctx } = this;
    const files = ctx.state.files;
    // The folder's listing is shared (cached for every job in it) and takes no signal: an aborted job leaves it.
    const found = await untilAborted(
      ctx.adoption.find(
        { parentId: await this.#folder(), remoteFile: remoteFileOf(mapping, job.path), fileName: posix.basename(job.path), digest },
        (id) => files.getByAssetId(id) !== undefined,
      ),
      this.signal,
    );
    this.#adoptable = found;
    return found && { assetId: found.asset.id, sameContent: found.sameContent };
  }

  #mightBeKnown(): Promise<boolean> {
    return Promise.resolve(this.#folder()).then((parentId) =>
      untilAborted(mightBeKnown(this.mapping, this.job.path, { parentId, size: this.opened.st.size }, this.ctx), this.signal),
    );
  }
}

/**
 * A path that is not a regular file of the mapping (a symlink or FIFO swapped
 * in, or a folder on the way swapped for a symlink): nothing is read from it.
 * For the mirror it is a file that is no longer there.
 */
async function refused(
  mapping: MappingRuntime,
  relPath: string,
  row: FileRow | undefined,
  e: SyncError,
  ctx: ReconcileContext,
): Promise<Outcome> {
  ctx.state.skipped.put(
    mapping.name,
    relPath,
    e.code === 'OUTSIDE_MAPPING' ? 'outside the mapping' : 'not a regular file',
    ctx.clock.now(),
  );
  const gone = row ? await handleGone(mapping, relPath, row, ctx) : { action: 'skip' as const };
  return { ...gone, detail: e.message, warn: true };
}

/** More synced files of one size than this: do not look further, hash first. */
const SAME_SIZE_LOOKUPS = 16;

/** Could this new file be a move of a vanished file of the same size, or an asset already on the server? */
async function mightBeKnown(
  mapping: MappingRuntime,
  relPath: string,
  at: { parentId: string; size: number },
  ctx: ReconcileContext,
): Promise<boolean> {
  const { parentId, size } = at;
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
