import { createHash, type Hash } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { SyncError } from '../lib/errors.js';
import { SquidexError, squidexFileHash, type UploadResult } from '../squidex/index.js';
import { formatBytes } from '../lib/units.js';
import type { TusProtocol } from '../squidex/tus.js';
import type { UploadRow } from '../state/index.js';
import type { SendArgs, TusOwner } from './sendargs.js';
import { hexToBase64 } from './hash.js';
import { META_SHA } from './mapping.js';

/** Reads for hashing a prefix again: 1 MiB, as the hasher's own reads. */
const READ = 1 << 20;
/** Failures in a row without progress a job rides out itself (HEAD, then on) before it gives the path back to the queue. */
const IN_JOB_RETRIES = 3;
/** Uploads started over in one job (the server lost them) before the job fails and backs off. */
const MAX_RESTARTS = 2;
/** The confirmed offset is written at most this often: HEAD tells the truth after a crash anyway. */
const SAVE_EVERY_MS = 1000;
/**
 * Chunks up to this size are read and hashed whole, the next one while the
 * server takes the current one: hashing on our side then overlaps the
 * server's instead of alternating with it at every chunk. Bigger chunks
 * (upload.chunkBytes goes to 1 GiB) are streamed and hashed as they go out.
 */
const AHEAD_MAX = 16 * 1024 * 1024;

/**
 * A chunk read ahead: its bytes (in one of the run's two buffers), and the
 * hash of the file up to its end, computed while the chunk is on its way (its
 * PATCH does not wait for it; the hash is taken as confirmed only with it).
 */
interface Ahead {
  start: number;
  data: Buffer;
  hash: Promise<Hash>;
  buf: number;
}

/**
 * One file through tus: create or resume, PATCH chunk by chunk, and hash
 * the bytes as they go out. `#hash` always covers exactly the bytes
 * [0, #hashedTo) the server confirmed; each PATCH hashes into a copy that
 * replaces it only when the server confirms the whole chunk. A prefix the
 * server holds but this process did not send (a resume, or the part of a
 * broken PATCH the server kept) is read again from the same descriptor.
 */
export class TusRun {
  #url: string | undefined;
  #offset = 0;
  #hash: Hash = createHash('sha256');
  #hashedTo = 0;
  #sentTo: number;
  #sent = 0;
  #savedAt = 0;
  #restarts = 0;
  #ahead: Ahead | undefined;
  /** Two chunk buffers, used in turn (the chunk on its way, the next one read ahead): no 4 MiB of garbage per chunk. */
  readonly #bufs: Buffer[] = [];

  constructor(
    private readonly owner: TusOwner,
    private readonly tus: TusProtocol,
    private readonly a: SendArgs,
    row: UploadRow | undefined,
  ) {
    this.#url = row?.url;
    this.#sentTo = row?.sentTo ?? 0;
  }

  private get size(): number {
    return this.a.st.size;
  }

  async run(): Promise<UploadResult> {
    for (;;) {
      let gone = false;
      if (this.#url === undefined) await this.start();
      else {
        const at = await this.tus.offset(this.#url, this.a.fileName, this.a.signal);
        if (at === null) gone = true;
        else this.resumed(at);
      }
      const done = gone ? null : await this.chunks();
      if (done) return done;
      const there = await this.alreadyThere();
      if (there) return there;
      this.forget();
    }
  }

  private async start(): Promise<void> {
    const { a, owner } = this;
    const url = await owner.create(a);
    const now = owner.now();
    this.#url = url;
    this.#offset = 0;
    // Durable before the first byte goes out: a crash from here on resumes this upload.
    owner.uploads.put({
      mapping: a.mapping,
      path: a.path,
      assetId: a.assetId,
      server: owner.server,
      url,
      size: this.size,
      mtimeMs: a.st.mtimeMs,
      confirmed: 0,
      sentTo: this.#sentTo,
      startedAt: now,
      updatedAt: now,
    });
  }

  private resumed(at: number): void {
    this.#offset = at;
    if (at > 0) {
      this.owner.events?.tusBytes?.('resumed', at);
      this.owner.logger.info(
        { path: this.a.path, offset: at, size: this.size },
        'resuming %s at %s of %s',
        this.a.path,
        formatBytes(at),
        formatBytes(this.size),
      );
    }
  }

  /** The upload is gone from the server (expired, or assembled with its answer lost): start it over, a few times at most. */
  private forget(): void {
    this.owner.uploads.remove(this.a.mapping, this.a.path);
    this.#url = undefined;
    if (++this.#restarts > MAX_RESTARTS) {
      throw new SquidexError('TUS_GONE', `upload of "${this.a.fileName}": the server lost the upload ${this.#restarts} times in a row.`, {
        retry: 'retry',
      });
    }
  }

  /** PATCHes until the server answers with the asset (the result), or the upload is gone (null). */
  private async chunks(): Promise<UploadResult | null> {
    const { a, tus } = this;
    const url = this.#url!;
    let failures = 0;
    try {
      for (;;) {
        a.signal?.throwIfAborted();
        if (a.stopping?.aborted) {
          throw new SyncError(
            'STOPPING',
            `upload of ${a.path} stopped at ${formatBytes(this.#offset)} of ${formatBytes(this.size)} for the shutdown; it resumes at the next start.`,
            { retry: 'retry' },
          );
        }
        // A server that holds every byte yet never answered with the asset: look for it.
        if (this.#offset >= this.size) return null;
        const start = this.#offset;
        const length = Math.min(this.owner.chunkBytes(), this.size - start);
        let ready = this.#ahead?.start === start && this.#ahead.data.length === length ? this.#ahead : undefined;
        this.#ahead = undefined;
        if (!ready) await this.hashTo(start);
        if (!ready && length <= AHEAD_MAX) ready = await this.read(start, length, this.#hash, 0);
        let attempt: Hash | Promise<Hash> | undefined = ready?.hash;
        const chunk = ready
          ? { length, open: () => this.counted(start, ready.data) }
          : { length, open: () => this.body(start, length, (h) => (attempt = h)) };
        const patching = tus.patch(url, start, chunk, { fileName: a.fileName, signal: a.signal });
        const end = start + length;
        const next =
          ready && end < this.size
            ? this.read(end, Math.min(this.owner.chunkBytes(), this.size - end), ready.hash, 1 - ready.buf).catch(() => undefined)
            : undefined;
        try {
          const r = await patching;
          const ahead = await next;
          failures = 0;
          if (r.offset === end && attempt) {
            this.#hash = await attempt;
            this.#hashedTo = end;
            this.#ahead = ahead;
          }
          this.#offset = r.offset;
          if (r.asset) return this.finish(r.asset);
          this.save(false);
        } catch (e) {
          await next;
          const code = e instanceof SyncError ? e.code : '';
          if (a.signal?.aborted || code === 'FILE_CHANGED') throw e;
          if (code === 'TUS_GONE') return null;
          if (code === 'TUS_CHUNK_TOO_LARGE') this.owner.refused(length, a);
          else {
            if (!(e instanceof SyncError) || e.retry !== 'retry' || ++failures > IN_JOB_RETRIES) throw e;
            if (code !== 'TUS_OFFSET_CONFLICT') {
              this.owner.logger.warn({ path: a.path, code, offset: this.#offset }, 'upload of %s interrupted (%s); resuming', a.path, code);
              await pause(250 * 2 ** (failures - 1), a.signal, a.stopping);
            }
          }
          const at = await tus.offset(url, a.fileName, a.signal);
          if (at === null) return null;
          this.#offset = at;
        }
      }
    } finally {
      this.save(true);
    }
  }

  /** A chunk's bytes read whole from the descriptor into buffer `buf`, and the hash of the file up to its end (from `base`). */
  private async read(start: number, length: number, base: Hash | Promise<Hash>, buf: number): Promise<Ahead> {
    if (!this.#bufs[buf] || this.#bufs[buf].length < length) this.#bufs[buf] = Buffer.allocUnsafe(length);
    const data = this.#bufs[buf].subarray(0, length);
    for (let got = 0; got < length; ) {
      const n = await this.a.file.readLarge(data, got, length - got, start + got);
      if (n === 0) throw new SquidexError('FILE_CHANGED', `"${this.a.fileName}" shrank while it was being sent.`, { retry: 'retry' });
      got += n;
    }
    const hash = hashOn(base, data);
    hash.catch(() => undefined); // awaited when the chunk is confirmed; a dropped chunk's hash is no one's
    return { start, data, hash, buf };
  }

  /** A chunk read ahead, counted as it goes out. */
  private counted(start: number, data: Buffer): Buffer {
    this.count(start, data.length);
    return data;
  }

  private count(at: number, length: number): void {
    const again = Math.max(0, Math.min(at + length, this.#sentTo) - at);
    this.#sent += length;
    if (at + length > this.#sentTo) this.#sentTo = at + length;
    this.owner.events?.tusBytes?.('sent', length);
    if (again > 0) this.owner.events?.tusBytes?.('again', again);
  }

  /** One chunk's body, read from the descriptor, hashed into a copy of the confirmed hash, counted as it goes out. */
  private async *body(start: number, length: number, keep: (h: Hash) => void): AsyncGenerator<Uint8Array> {
    const h = this.#hash.copy();
    keep(h);
    let at = start;
    for await (const piece of this.a.file.stream(start, start + length - 1, READ)) {
      h.update(piece);
      this.count(at, piece.length);
      at += piece.length;
      yield piece;
    }
    if (at !== start + length) {
      throw new SquidexError('FILE_CHANGED', `"${this.a.fileName}" shrank while it was being sent.`, { retry: 'retry' });
    }
  }

  /** Makes `#hash` cover [0, target): forward from where it is, or from 0 when it is past it. */
  private async hashTo(target: number): Promise<void> {
    if (this.#hashedTo === target) return;
    if (this.#hashedTo > target) {
      this.#hash = createHash('sha256');
      this.#hashedTo = 0;
    }
    for await (const piece of this.a.file.stream(this.#hashedTo, target - 1, READ)) {
      this.a.signal?.throwIfAborted();
      this.#hash.update(piece);
      this.#hashedTo += piece.length;
    }
    if (this.#hashedTo !== target) {
      throw new SquidexError('FILE_CHANGED', `"${this.a.fileName}" shrank before it was resumed.`, { retry: 'retry' });
    }
  }

  private finish(asset: UploadResult['asset']): UploadResult {
    if (asset.id !== this.a.assetId) {
      // With our id as metadata and duplicate=true Squidex acts on our id; another id is someone else's asset.
      throw new SquidexError(
        'UNEXPECTED_RESPONSE',
        `Upload of "${this.a.fileName}": Squidex answered with asset "${asset.id}" instead of "${this.a.assetId}".`,
        { retry: 'never' },
      );
    }
    this.done();
    return { asset, sha256: this.#hash.digest('hex'), bytes: this.#sent };
  }

  /**
   * The upload is gone, or complete without an answer we saw: the completing
   * PATCH may have reached Squidex. If our asset holds this file (same size,
   * and our stamp or Squidex's fileHash of these bytes), nothing is sent again.
   */
  private async alreadyThere(): Promise<UploadResult | null> {
    const { a } = this;
    const asset = await this.owner.client.getAsset(a.assetId, { signal: a.signal });
    if (!asset || asset.fileSize !== this.size || asset.parentId !== a.parentId) return null;
    const sha = a.sha256 ?? (await this.wholeHash());
    if (asset.metadata?.[META_SHA] !== sha && asset.fileHash !== squidexFileHash(hexToBase64(sha), a.fileName, this.size)) return null;
    this.owner.logger.info(
      { path: a.path, asset: asset.id },
      '%s is on the server already (the answer to its last piece was lost): not sent again',
      a.path,
    );
    this.done();
    return { asset, sha256: sha, bytes: this.#sent };
  }

  private async wholeHash(): Promise<string> {
    await this.hashTo(this.size);
    return this.#hash.copy().digest('hex');
  }

  /** The row goes with the synced row of the file (one commit), or now. */
  private done(): void {
    const { mapping, path } = this.a;
    const uploads = this.owner.uploads;
    if (this.a.defer) this.a.defer(() => uploads.remove(mapping, path));
    else uploads.remove(mapping, path);
  }

  private save(force: boolean): void {
    const now = this.owner.now();
    if (this.#url === undefined || (!force && now - this.#savedAt < SAVE_EVERY_MS)) return;
    this.#savedAt = now;
    try {
      this.owner.uploads.progress({ mapping: this.a.mapping, path: this.a.path, url: this.#url }, this.#offset, this.#sentTo, now);
    } catch (e) {
      // Only progress for `status`: the server's offset is what a resume goes by.
      this.owner.logger.debug({ err: e, path: this.a.path }, 'cannot record upload progress');
    }
  }
}

/** `base` continued with `data`, in slices, so the chunk on its way keeps being written meanwhile. */
async function hashOn(base: Hash | Promise<Hash>, data: Buffer): Promise<Hash> {
  const hash = (await base).copy();
  for (let off = 0; off < data.length; off += READ) {
    await tick();
    hash.update(data.subarray(off, Math.min(data.length, off + READ)));
  }
  return hash;
}

function pause(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
  return new Promise((resolve) => {
    const live = signals.filter((s): s is AbortSignal => s !== undefined);
    const done = (): void => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of live) s.addEventListener('abort', done, { once: true });
  });
}
