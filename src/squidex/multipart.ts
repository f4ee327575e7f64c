import type { Bandwidth } from '../lib/throttle.js';
import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { SquidexError } from './errors.js';
import { contentTypeFor } from './hash.js';
import type { UploadFile, UploadSource } from './types.js';
import { hasEnvelopeRoom, spoil } from './room.js';

export { allocWithEnvelopeRoom, giveBack } from './room.js';

/**
 * A multipart/form-data body built by hand as a stream: preamble, the file read
 * in 1 MiB chunks, epilogue. undici's FormData is slower and holds more in
 * memory (reference/measurements.md); this keeps memory flat with file size and
 * hashes the bytes as they go out, so the file is read once.
 */
const CHUNK = 1024 * 1024;

export interface MultipartBody {
  body: AsyncIterable<Uint8Array> | Buffer;
  contentType: string;
  contentLength: number;
  /** File bytes (not the envelope). */
  size: number;
  /** Hex SHA-256 and count of the file bytes sent; undefined until the whole body has been read. */
  sent(): { sha256: string; bytes: number } | undefined;
  /**
   * Frees the file handle if the body was never (fully) read. `delivered`: the
   * request ended in a success, so the server read the whole body and none of
   * it waits in the socket any more (a small file's memory may be reused).
   * A body from memory has nothing to wait for and returns nothing.
   */
  close(delivered?: boolean): Promise<void> | undefined;
}

/** RFC 8187 `ext-value`: percent-encode everything outside attr-char. */
export function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The plain `filename="…"` as the HTML standard encodes it for forms: raw UTF-8
 * with `"`, CR and LF percent-encoded (a name on disk may contain any of them and
 * they would break the header). Squidex (ASP.NET Core) prefers `filename*` anyway.
 */
export function quoteFilename(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A name that both encodings above leave as it is (most names): no regular expressions per file for it. */
const PLAIN_NAME = /^[\w.!~-]*$/;

export function multipartPreamble(boundary: string, fileName: string, mimeType: string): string {
  const plain = PLAIN_NAME.test(fileName);
  return (
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="file"; filename="${plain ? fileName : quoteFilename(fileName)}"; filename*=UTF-8''${plain ? fileName : encodeRfc8187(fileName)}\r\n` +
    `Content-Type: ${mimeType}\r\n\r\n`
  );
}

function epilogueOf(boundary: string): string {
  return `\r\n--${boundary}--\r\n`;
}

/**
 * Random once per process, numbered per body (the number first, so that no
 * boundary is the start of another): as unlikely in a file as a UUID per
 * body, which drew from the entropy pool for every upload.
 */
const BOUNDARY_RANDOM = randomBytes(16).toString('hex');
let bodies = 0;

function newBoundary(): string {
  return `----squidex-sync-${(++bodies).toString(36)}-${BOUNDARY_RANDOM}`;
}

/**
 * Fixes the file's size from its open descriptor (so a rename-over while we
 * start reads one consistent inode). Exactly that many bytes are sent: a file
 * that grows is cut at the size we announced, one that shrinks fails with
 * FILE_CHANGED. A file the caller opened (`src.file`) is read from that
 * descriptor and left open; otherwise the path is opened here and closed.
 */
export function openMultipart(src: UploadSource, bandwidth?: Bandwidth): MultipartBody | Promise<MultipartBody> {
  // From memory at once: a promise and a turn of the event loop less per small file.
  return src.bytes ? fromMemory(src, src.bytes, bandwidth) : openStreamed(src, bandwidth);
}

async function openStreamed(src: UploadSource, bandwidth?: Bandwidth): Promise<MultipartBody> {
  const opened = src.file ? undefined : await openPath(src.path);
  const file = src.file ?? opened!;
  let size: number;
  try {
    size = (await file.fstat()).size;
  } catch (e) {
    await opened?.close();
    throw e;
  }
  const { boundary, preamble, epilogue } = envelope(src);
  const hash = createHash('sha256');
  let bytes = 0;
  let done = false;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await opened?.close();
  };

  async function* generate(): AsyncGenerator<Uint8Array> {
    try {
      yield preamble;
      if (size > 0) {
        for await (const chunk of file.stream(0, size - 1, CHUNK)) {
          hash.update(chunk);
          bytes += chunk.length;
          if (!bandwidth || bandwidth.unlimited) {
            yield chunk;
            continue;
          }
          yield* throttled(chunk, bandwidth);
        }
      }
      if (bytes !== size) {
        throw new SquidexError('FILE_CHANGED', `"${src.fileName}" shrank from ${size} to ${bytes} bytes while it was being sent.`, {
          retry: 'retry',
        });
      }
      done = true;
      yield epilogue;
    } finally {
      await close();
    }
  }

  return {
    body: generate(),
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: preamble.length + size + epilogue.length,
    size,
    sent() {
      return done ? { sha256: hash.copy().digest('hex'), bytes } : undefined;
    },
    close,
  };
}

function envelope(src: UploadSource): { boundary: string; preamble: Buffer; epilogue: Buffer } {
  const boundary = newBoundary();
  const preamble = Buffer.from(multipartPreamble(boundary, src.fileName, src.mimeType ?? contentTypeFor(src.fileName)), 'utf8');
  const epilogue = Buffer.from(epilogueOf(boundary), 'utf8');
  return { boundary, preamble, epilogue };
}

/** The cap is shared by every upload: take tokens piece by piece so concurrent uploads together stay under it. */
export async function* throttled(chunk: Buffer, bandwidth: Bandwidth): AsyncGenerator<Uint8Array> {
  const piece = Math.min(bandwidth.burst, 64 * 1024);
  for (let off = 0; off < chunk.length; off += piece) {
    const part = chunk.subarray(off, Math.min(chunk.length, off + piece));
    await bandwidth.take(part.length);
    yield part;
  }
}

/**
 * A small file already in memory: one Buffer body, written to the socket in
 * one go. Profiles of a first sync of small files showed the streamed path
 * (open, stat, read, close, async-iterable body) costing more CPU than the
 * request itself.
 */
function fromMemory(src: UploadSource, bytes: { data: Buffer; sha256: string }, bandwidth?: Bandwidth): MultipartBody {
  const boundary = newBoundary();
  const preamble = multipartPreamble(boundary, src.fileName, src.mimeType ?? contentTypeFor(src.fileName));
  const epilogue = epilogueOf(boundary);
  const whole =
    inPlace(bytes.data, preamble, epilogue) ?? Buffer.concat([Buffer.from(preamble, 'utf8'), bytes.data, Buffer.from(epilogue, 'utf8')]);
  let done = false;
  async function* generate(): AsyncGenerator<Uint8Array> {
    yield* throttled(whole, bandwidth!);
    done = true;
  }
  const limited = bandwidth !== undefined && !bandwidth.unlimited;
  return {
    body: limited ? generate() : whole,
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: whole.length,
    size: bytes.data.length,
    sent() {
      return !limited || done ? { sha256: bytes.sha256, bytes: bytes.data.length } : undefined;
    },
    close: (delivered) => {
      if (!delivered) spoil(bytes.data);
      return undefined;
    },
  };
}

/** preamble + data + epilogue as one view of data's own memory, written there as UTF-8; undefined when it has no room for them. */
function inPlace(data: Buffer, preamble: string, epilogue: string): Buffer | undefined {
  if (!hasEnvelopeRoom(data)) return undefined;
  const before = Buffer.byteLength(preamble, 'utf8');
  const start = data.byteOffset - before;
  const end = data.byteOffset + data.length + epilogue.length; // the epilogue is ASCII
  if (start < 0 || end > data.buffer.byteLength) return undefined;
  const whole = Buffer.from(data.buffer, start, end - start);
  whole.write(preamble, 0, before, 'utf8');
  whole.write(epilogue, before + data.length, epilogue.length, 'latin1');
  return whole;
}

async function openPath(path: string): Promise<UploadFile & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  return {
    fstat: () => handle.stat(),
    stream: (start, end, chunk) => handle.createReadStream({ start, end, highWaterMark: chunk, autoClose: false }),
    close: () => handle.close().catch(() => undefined),
  };
}
