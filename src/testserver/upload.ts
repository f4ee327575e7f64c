import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError, mediaType, traceId, validation } from './http.js';
import { MultipartFormatError, MultipartParser, boundaryOf, decodeExtValue, headerParams } from './multipart.js';
import type { Upload } from './store.js';

export interface UploadLimits {
  maxUploadBytes: number;
  keepBytes: boolean;
}

interface FilePart {
  fileName: string;
  contentType: string;
  size: number;
  hash: Hash;
  chunks: Buffer[] | null;
}

/** Kestrel's 413 as ApiModelValidationAttribute re-throws it: an ErrorDto without `type`. */
export function tooLarge(max: number): ApiError {
  return new ApiError(413, {
    message: `Failed to read the request form. Request body too large. The max request body size is ${max} bytes.`,
  });
}

/** What the forum thread saw for `Content-Type: application/json` on an upload: ASP.NET's ProblemDetails. */
function unsupportedMediaType(): ApiError {
  return new ApiError(415, { raw: { type: '', title: 'Unsupported Media Type', status: 415, traceId: traceId() } });
}

/**
 * Reads the one file of an upload request (AssetFileResolver.GetFile rules), hashing as bytes arrive.
 * Form fields are read but ignored: Squidex takes parentId/id/duplicate from the query string here.
 */
export async function readUpload(req: IncomingMessage, limits: UploadLimits): Promise<Upload> {
  const type = mediaType(req);
  if (type === 'application/x-www-form-urlencoded') {
    await drain(req, limits.maxUploadBytes);
    throw validation('Can only upload one file.');
  }
  if (type !== 'multipart/form-data') throw unsupportedMediaType();
  const boundary = boundaryOf(req.headers['content-type'] ?? '');
  if (!boundary) throw validation('Request body has an invalid format.');
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limits.maxUploadBytes) throw tooLarge(limits.maxUploadBytes);

  const files: FilePart[] = [];
  let current: FilePart | null = null;
  const parser = new MultipartParser(boundary, {
    begin(headers) {
      const disposition = headerParams(headers.get('content-disposition') ?? '');
      const plain = disposition.params.get('filename');
      const star = disposition.params.get('filename*');
      // ASP.NET treats a part as a file only when filename or filename* is non-empty; filename* wins.
      if (disposition.type !== 'form-data' || (!plain && !star)) {
        current = null;
        return;
      }
      const fileName = (star !== undefined ? decodeExtValue(star) : undefined) ?? plain ?? '';
      current = {
        fileName,
        contentType: headers.get('content-type') ?? '',
        size: 0,
        hash: createHash('sha256'),
        chunks: limits.keepBytes ? [] : null,
      };
      files.push(current);
    },
    data(chunk) {
      if (!current) return;
      current.size += chunk.length;
      current.hash.update(chunk);
      current.chunks?.push(Buffer.from(chunk));
    },
    end() {
      current = null;
    },
  });

  await new Promise<void>((resolve, reject) => {
    let received = 0;
    const fail = (e: unknown) => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      reject(e);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxUploadBytes) return fail(tooLarge(limits.maxUploadBytes));
      try {
        parser.write(chunk);
      } catch (e) {
        fail(e instanceof MultipartFormatError ? validation('Request body has an invalid format.') : e);
      }
    };
    const onEnd = () => {
      try {
        parser.end();
        resolve();
      } catch {
        fail(validation('Request body has an invalid format.'));
      }
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', fail);
  });

  if (files.length !== 1) throw validation('Can only upload one file.');
  const file = files[0];
  if (!file.contentType.trim()) throw validation('File content-type is not defined.');
  if (!file.fileName.trim()) throw validation('File name is not defined.');
  return {
    fileName: file.fileName,
    mimeType: file.contentType.trim(),
    size: file.size,
    digest: file.hash.digest(),
    bytes: file.chunks ? Buffer.concat(file.chunks) : null,
  };
}

function drain(req: IncomingMessage, max: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) reject(tooLarge(max));
    });
    req.on('end', () => resolve());
    req.on('error', reject);
  });
}
