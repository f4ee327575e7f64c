import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** RFC links Squidex puts in ErrorDto.type (ApiExceptionConverter.Links); 413 and 429 have none. */
const TYPE_LINKS: Record<number, string> = {
  400: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.1',
  401: 'https://www.rfc-editor.org/rfc/rfc7235#section-3.1',
  403: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.3',
  404: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.4',
  408: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.7',
  409: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.8',
  410: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.9',
  412: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.10',
  415: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.5.13',
  500: 'https://www.rfc-editor.org/rfc/rfc7231#section-6.6.1',
};

export function traceId(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`;
}

export interface ErrorBody {
  message: string;
  errorCode?: string;
  details?: string[];
}

/** An error a handler throws to answer with a Squidex ErrorDto (or a raw body, for the few non-ErrorDto answers). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | { raw: Record<string, unknown> },
    readonly headers: Record<string, string> = {},
  ) {
    super('message' in body ? body.message || `HTTP ${status}` : `HTTP ${status}`);
    this.name = 'ApiError';
  }
}

export const validation = (...details: string[]) => new ApiError(400, { message: 'Validation error', details });
export const notFound = () => new ApiError(404, { message: '' });

/** Field order follows the server's ErrorDto so bodies compare byte-for-byte with captured ones. */
export function errorDto(status: number, body: ErrorBody): Record<string, unknown> {
  const dto: Record<string, unknown> = { message: body.message };
  if (body.errorCode) dto.errorCode = body.errorCode;
  dto.traceId = traceId();
  if (TYPE_LINKS[status]) dto.type = TYPE_LINKS[status];
  if (body.details) dto.details = body.details;
  dto.statusCode = status;
  return dto;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const body = 'raw' in err.body ? err.body.raw : errorDto(err.status, err.body);
  sendJson(res, err.status, body, err.headers);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, headers);
  res.end();
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** Reads a small body whole; only JSON and form endpoints use this, never uploads. */
export function readSmallBody(req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new ApiError(413, { message: `Request body too large. The max request body size is ${limit} bytes.` }));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * A [FromBody] JSON endpoint: wrong media type 415, empty body and syntax errors 400 as ASP.NET Core
 * model binding reports them through ApiModelValidationAttribute.
 */
export async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = mediaType(req);
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new ApiError(415, { message: '' });
  }
  const text = (await readSmallBody(req)).toString('utf8');
  if (text.trim() === '') throw validation('Request body has an invalid format.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw validation(`${(e as Error).message} Path: $ | LineNumber: 0 | BytePositionInLine: 0.`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw validation('The JSON value could not be converted. Path: $ | LineNumber: 0 | BytePositionInLine: 1.');
  }
  return value as Record<string, unknown>;
}

/** `"5"` or `W/"5"`; anything else (including unquoted 5) is ignored like EntityTagHeaderValue.TryParse does. */
export function expectedVersion(req: IncomingMessage): number | undefined {
  const raw = req.headers['if-match'];
  if (typeof raw !== 'string') return undefined;
  const m = /^\s*(?:W\/)?"(-?\d+)"\s*$/.exec(raw);
  return m ? Number(m[1]) : undefined;
}

export function etag(version: number): Record<string, string> {
  return { ETag: `"${version}"` };
}
