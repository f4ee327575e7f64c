import type { Clock } from '../lib/clock.js';
import { SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { SquidexClient, UploadResult } from '../squidex/index.js';
import { formatBytes } from '../lib/units.js';
import { pieceTooLarge, withoutTus } from '../squidex/classify.js';
import { SquidexError } from '../squidex/errors.js';
import { TusProtocol } from '../squidex/tus.js';
import type { MetaStore, State, UploadRow, UploadsRepo } from '../state/index.js';
import type { SyncEvents } from './events.js';
import { TusRun } from './tusrun.js';
import type { SendArgs, TusOwner } from './sendargs.js';

export type { SendArgs } from './sendargs.js';

/** Pieces smaller than this are mostly request overhead; a proxy that refuses them needs fixing. */
export const MIN_CHUNK = 256 * 1024;
/** Squidex drops unfinished uploads after 2 days; rows this much older point at nothing. */
const STALE_MS = 3 * 24 * 3600_000;

export interface BigUploadsOptions {
  client: SquidexClient;
  state: State;
  logger: Logger;
  clock: Clock;
  /** `url|app`: whose uploads and remembered chunk size these are. */
  server: string;
  chunkBytes: number;
  tusAboveBytes: number;
  events?: Pick<SyncEvents, 'tusBytes'>;
}

export function chunkKey(server: string): string {
  return `tusChunk:${server}`;
}

/** The chunk size remembered for a server after 413s, while the configured size is the one it came from. */
export function rememberedChunk(meta: Pick<MetaStore, 'get'>, server: string, configured: number): number {
  try {
    const v = JSON.parse(meta.get(chunkKey(server)) ?? 'null') as { from?: number; bytes?: number } | null;
    if (v && v.from === configured && typeof v.bytes === 'number' && v.bytes >= MIN_CHUNK && v.bytes < configured) return v.bytes;
  } catch {
    // a value we cannot read is no memory at all
  }
  return configured;
}

/**
 * Which way a file goes to Squidex: above `upload.tusAboveBytes` through the
 * tus endpoint in chunks (resumable, TusRun), otherwise as one multipart
 * request. A multipart upload refused as too large goes through tus at once;
 * a server without tus gets multipart for every file (said once).
 */
export class BigUploads implements TusOwner {
  readonly client: SquidexClient;
  readonly uploads: UploadsRepo;
  readonly logger: Logger;
  readonly server: string;
  readonly events: Pick<SyncEvents, 'tusBytes'> | undefined;
  readonly #opts: BigUploadsOptions;
  readonly #meta: MetaStore;
  readonly #tus: TusProtocol;
  #chunk: number;
  #speaks: 'unknown' | 'yes' | 'no' = 'unknown';

  constructor(opts: BigUploadsOptions) {
    this.#opts = opts;
    this.client = opts.client;
    this.uploads = opts.state.uploads;
    this.#meta = opts.state.meta;
    this.logger = opts.logger;
    this.server = opts.server;
    this.events = opts.events;
    this.#tus = new TusProtocol(opts.client);
    this.#chunk = rememberedChunk(this.#meta, opts.server, opts.chunkBytes);
    try {
      this.uploads.dropStale(opts.clock.now() - STALE_MS);
    } catch {
      // read-only or busy: the rows only cost a 404 each when their paths come up
    }
  }

  now(): number {
    return this.#opts.clock.now();
  }

  chunkBytes(): number {
    return this.#chunk;
  }

  /** Does a file of this size go through tus (as far as we know the server)? */
  wants(size: number): boolean {
    return size > this.#opts.tusAboveBytes && this.#speaks !== 'no';
  }

  async send(a: SendArgs, multipart: () => Promise<UploadResult>): Promise<UploadResult> {
    if (this.wants(a.st.size)) {
      try {
        return await this.viaTus(a);
      } catch (e) {
        if (!(e instanceof SyncError && e.code === 'TUS_UNSUPPORTED')) throw e;
      }
      return this.multipartOnly(multipart);
    }
    const row = this.uploads.mayHoldRows() ? this.uploads.get(a.mapping, a.path) : undefined;
    if (row) await this.drop(row, a.signal); // from a time the file was bigger
    if (this.#speaks === 'no') return this.multipartOnly(multipart);
    try {
      return await multipart();
    } catch (e) {
      const code = e instanceof SyncError ? e.code : '';
      if (code !== 'TOO_LARGE' && code !== 'UPLOAD_TOO_LARGE_SUSPECTED') throw e;
      this.logger.info({ path: a.path, code }, '%s is larger than one request may be: sending it through tus', a.path);
      try {
        return await this.viaTus(a);
      } catch (e2) {
        if (e2 instanceof SyncError && e2.code === 'TUS_UNSUPPORTED')
          throw e instanceof SquidexError && code === 'TOO_LARGE' ? withoutTus(e) : e;
        throw e2;
      }
    }
  }

  /** Creation, for TusRun: a server without the endpoint is noted (and said) once. */
  async create(a: SendArgs): Promise<string> {
    try {
      const url = await this.#tus.create(
        a.st.size,
        { fileName: a.fileName, mimeType: a.mimeType, id: a.assetId, parentId: a.parentId },
        a.signal,
      );
      this.#speaks = 'yes';
      return url;
    } catch (e) {
      if (e instanceof SyncError && e.code === 'TUS_UNSUPPORTED' && this.#speaks !== 'no') {
        this.#speaks = 'no';
        this.logger.warn(
          { server: this.#opts.client.apiUrl('/assets/tus'), code: e.code },
          'Squidex has no tus endpoint (an older Squidex; 6.6 and later have one): every file goes as one request, and files over its per-request limit (assets:maxSize, 5 MiB by default) cannot be uploaded. %s',
          e.message,
        );
      }
      throw e;
    }
  }

  /** A chunk of `length` refused with 413: halve the chunk size (remembered for this server), or give up at the smallest. */
  refused(length: number, a: SendArgs): void {
    const tried = Math.min(this.#chunk, length);
    if (tried <= MIN_CHUNK) {
      throw pieceTooLarge({ operation: 'upload', fileName: a.fileName }, tried);
    }
    const next = Math.max(MIN_CHUNK, Math.floor(tried / 2));
    if (next >= this.#chunk) return;
    this.#chunk = next;
    this.logger.warn(
      { chunkBytes: next },
      'a piece of %s was refused as too large (HTTP 413): pieces of %s from now on, remembered for this server',
      formatBytes(tried),
      formatBytes(next),
    );
    try {
      this.#meta.set(chunkKey(this.server), JSON.stringify({ from: this.#opts.chunkBytes, bytes: next }));
    } catch (e) {
      this.logger.debug({ err: e }, 'cannot remember the chunk size');
    }
  }

  private async viaTus(a: SendArgs): Promise<UploadResult> {
    let row = this.uploads.get(a.mapping, a.path);
    if (row && (row.assetId !== a.assetId || row.server !== this.server || row.size !== a.st.size || row.mtimeMs !== a.st.mtimeMs)) {
      // The file changed since its upload started (or the upload is another asset's): what the server holds is stale.
      this.logger.info({ path: a.path }, '%s changed since its upload started: starting over', a.path);
      await this.drop(row, a.signal);
      row = undefined;
    }
    if (!row)
      this.logger.info(
        { path: a.path, size: a.st.size, chunkBytes: this.#chunk },
        'uploading %s (%s) through tus in pieces of %s',
        a.path,
        formatBytes(a.st.size),
        formatBytes(this.#chunk),
      );
    return new TusRun(this, this.#tus, a, row).run();
  }

  /**
   * DELETE an upload we will not finish; the row goes whatever the server says
   * (it expires the upload anyway), except when the job aborts meanwhile (a
   * stop): then the row stays, and the next start drops the upload.
   */
  private async drop(row: UploadRow, signal: AbortSignal | undefined): Promise<void> {
    try {
      if (row.server === this.server) await this.#tus.terminate(row.url, row.path, signal);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      this.logger.debug({ err: e, path: row.path }, 'cannot drop an unfinished upload; the server expires it');
    }
    this.uploads.remove(row.mapping, row.path);
  }

  private async multipartOnly(multipart: () => Promise<UploadResult>): Promise<UploadResult> {
    try {
      return await multipart();
    } catch (e) {
      if (e instanceof SquidexError && e.code === 'TOO_LARGE') throw withoutTus(e);
      throw e;
    }
  }
}
