import type { Bandwidth } from '../lib/throttle.js';
import type { SendResponse, SquidexClient } from './client.js';
import { SquidexError } from './errors.js';
import { throttled } from './multipart.js';
import type { AssetDto } from './types.js';

/**
 * The tus 1.0.0 protocol as Squidex speaks it (reference/squidex-api.md §8):
 * creation with our asset id, parentId and duplicate=true as metadata, PATCHes
 * of one chunk each, HEAD for the offset, DELETE to drop an upload. Only the
 * protocol lives here; what to resume, re-hash or remember is the worker's
 * (worker/bigupload.ts).
 *
 * Written here rather than with tus-js-client: its Upload reads a Buffer, a
 * path or a Node stream through its own file reader and sends through its own
 * HTTP stack, retries and offset bookkeeping. We read ranges from the one
 * descriptor the worker opened, send through our undici agent (CA, timeouts,
 * token refresh, secret scrubbing), under the shared bandwidth cap and the
 * job's abort signal, hash what goes out, halve the chunk on a 413 and look
 * for the asset when the completing answer is lost. With a custom reader,
 * stack and URL store, what is left of the library is four requests.
 */

export const TUS_RESUMABLE = '1.0.0';
const VERSION = { 'tus-resumable': TUS_RESUMABLE };

export interface TusMetadata {
  fileName: string;
  mimeType: string;
  /** Our asset id: the completing PATCH upserts it (a new asset or new content for this one). */
  id: string;
  /** Always sent: without it the asset keeps its folder, with it the asset lands where the file is. */
  parentId: string;
}

export interface TusChunk {
  length: number;
  /** A fresh body for each attempt (a token refresh sends it again): the bytes, or a stream of them. */
  open(): Buffer | AsyncIterable<Uint8Array>;
}

/** What a PATCH left: the new offset, and the asset when it completed the file. */
export interface PatchResult {
  offset: number;
  asset?: AssetDto;
}

export interface TusProbe {
  tus: boolean;
  /** The status of OPTIONS when the answer was not tus. */
  status?: number;
  extensions?: string[];
  maxSize?: number;
}

/** `key base64` pairs; values are UTF-8 (file names in any script). */
export function encodeMetadata(m: TusMetadata): string {
  const pairs: Array<[string, string]> = [
    ['fileName', m.fileName],
    ['mimeType', m.mimeType],
    ['id', m.id],
    ['parentId', m.parentId],
    ['duplicate', 'true'],
  ];
  return pairs.map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`).join(',');
}

function header(res: SendResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function offsetOf(res: SendResponse, what: string): number {
  const raw = header(res, 'upload-offset');
  const n = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new SquidexError('UNEXPECTED_RESPONSE', `${what}: Squidex answered without a valid Upload-Offset (${raw ?? 'none'}).`, {
      retry: 'retry',
      status: res.status,
    });
  }
  return n;
}

export class TusProtocol {
  readonly #client: SquidexClient;
  readonly #bandwidth: Bandwidth | undefined;

  constructor(client: SquidexClient) {
    this.#client = client;
    this.#bandwidth = client.bandwidth;
  }

  /** OPTIONS on the endpoint: does this server speak tus? Creates nothing. */
  async probe(): Promise<TusProbe> {
    const res = await this.#client.send({
      method: 'OPTIONS',
      url: this.#client.apiUrl('/assets/tus'),
      pass: [400, 404, 405, 415],
      ctx: { operation: 'ask for tus' },
    });
    const version = header(res, 'tus-version');
    if (
      res.status >= 300 ||
      !version
        ?.split(',')
        .map((v) => v.trim())
        .includes(TUS_RESUMABLE)
    )
      return { tus: false, status: res.status };
    const max = Number(header(res, 'tus-max-size'));
    return {
      tus: true,
      extensions: (header(res, 'tus-extension') ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
      maxSize: Number.isSafeInteger(max) && max > 0 ? max : undefined,
    };
  }

  /**
   * A new upload of `length` bytes; its absolute URL. A server without the
   * endpoint answers 404 or 405, or (an older Squidex) routes the request to
   * the upsert of an asset called "tus" and refuses it with 400 or 415, with
   * no tus header: TUS_UNSUPPORTED.
   */
  async create(length: number, meta: TusMetadata, signal?: AbortSignal): Promise<string> {
    const url = this.#client.apiUrl('/assets/tus');
    const res = await this.#client.send({
      method: 'POST',
      url,
      signal,
      pass: [400, 404, 405, 415],
      headers: { ...VERSION, 'upload-length': String(length), 'upload-metadata': encodeMetadata(meta) },
      ctx: { operation: 'start a resumable upload', fileName: meta.fileName },
    });
    const spoken = header(res, 'tus-resumable') !== undefined;
    if (res.status === 404 || res.status === 405 || (!spoken && (res.status === 400 || res.status === 415))) {
      throw new SquidexError('TUS_UNSUPPORTED', `Squidex has no tus endpoint (POST …/assets/tus answered HTTP ${res.status}).`, {
        retry: 'never',
        status: res.status,
      });
    }
    if (res.status !== 201 && res.status !== 200) {
      throw new SquidexError(
        `HTTP_${res.status}`,
        `start a resumable upload of "${meta.fileName}": Squidex refused it (HTTP ${res.status}).`,
        { retry: 'never', status: res.status },
      );
    }
    const location = header(res, 'location');
    if (!location)
      throw new SquidexError(
        'UNEXPECTED_RESPONSE',
        `start a resumable upload of "${meta.fileName}": Squidex answered without a Location.`,
        { retry: 'retry', status: res.status },
      );
    return new URL(location, url).toString();
  }

  /** HEAD: the offset the server holds, or null when the upload is gone (expired, assembled, deleted). */
  async offset(url: string, fileName: string, signal?: AbortSignal): Promise<number | null> {
    const res = await this.#client.send({
      method: 'HEAD',
      url,
      signal,
      pass: [404, 410],
      headers: VERSION,
      ctx: { operation: 'ask how much of an upload arrived', fileName },
    });
    if (res.status === 404 || res.status === 410) return null;
    return offsetOf(res, `resume "${fileName}"`);
  }

  /**
   * One chunk at `offset`. Throws TUS_GONE (404/410: expired, or assembled
   * already), TUS_OFFSET_CONFLICT (409: the server holds another offset) and
   * TUS_CHUNK_TOO_LARGE (413: something in front of Squidex refuses bodies of
   * this size); other failures are classified as every request's.
   */
  async patch(url: string, offset: number, chunk: TusChunk, opts: { fileName: string; signal?: AbortSignal }): Promise<PatchResult> {
    const { fileName, signal } = opts;
    const bandwidth = this.#bandwidth;
    const res = await this.#client.send({
      method: 'PATCH',
      url,
      signal,
      pass: [404, 409, 410, 413],
      headers: {
        ...VERSION,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': String(offset),
        'content-length': String(chunk.length),
        accept: 'application/json',
      },
      body: () => {
        const body = chunk.open();
        return bandwidth && !bandwidth.unlimited ? throttle(Buffer.isBuffer(body) ? [body] : body, bandwidth) : body;
      },
      ctx: { operation: 'upload', fileName },
    });
    if (res.status === 404 || res.status === 410) {
      throw new SquidexError('TUS_GONE', `upload of "${fileName}": the upload is gone from the server (HTTP ${res.status}).`, {
        retry: 'retry',
        status: res.status,
      });
    }
    if (res.status === 409) {
      throw new SquidexError('TUS_OFFSET_CONFLICT', `upload of "${fileName}": the server holds another offset than ${offset} (HTTP 409).`, {
        retry: 'retry',
        status: 409,
      });
    }
    if (res.status === 413) {
      throw new SquidexError(
        'TUS_CHUNK_TOO_LARGE',
        `upload of "${fileName}": a piece of ${chunk.length} bytes was refused as too large (HTTP 413).`,
        { retry: 'never', status: 413 },
      );
    }
    if (res.status === 201 || (res.status === 200 && res.body)) {
      // The completing PATCH: Squidex ran the upsert and answers with the asset.
      let asset: AssetDto | undefined;
      try {
        asset = JSON.parse(res.body) as AssetDto;
      } catch {
        asset = undefined;
      }
      if (!asset || typeof asset.id !== 'string') {
        throw new SquidexError(
          'UNEXPECTED_RESPONSE',
          `upload of "${fileName}": Squidex completed the upload without an asset in its answer.`,
          { retry: 'retry', status: res.status },
        );
      }
      return { offset: offset + chunk.length, asset };
    }
    return { offset: offsetOf(res, `upload of "${fileName}"`) };
  }

  /** DELETE: drop an upload we will not finish. Gone already is fine. `signal` cuts the request (a stop). */
  async terminate(url: string, fileName: string, signal?: AbortSignal): Promise<void> {
    await this.#client.send({
      method: 'DELETE',
      url,
      pass: [404, 410],
      headers: VERSION,
      signal,
      ctx: { operation: 'drop an unfinished upload', fileName },
    });
  }
}

async function* throttle(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, bandwidth: Bandwidth): AsyncGenerator<Uint8Array> {
  for await (const piece of body) yield* throttled(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), bandwidth);
}
