import { describe, expect, it } from 'vitest';
import { classifyFailure, type FailureContext } from '../../src/squidex/classify.js';
import { parseRetryAfter, QUOTA_PAUSE_MS } from '../../src/squidex/errors.js';
import { contentTypeFor, squidexFileHash, SquidexError } from '../../src/squidex/index.js';
import { createHash } from 'node:crypto';

const NOW = 1_700_000_000_000;
const ctx = (over: Partial<FailureContext> = {}): FailureContext => ({ operation: 'upload', now: NOW, clientId: 'demo:sync', ...over });
const http = (status: number, body: unknown = {}, headers: Record<string, string> = {}) =>
  ({ kind: 'http', status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) }) as const;
const net = (code: string, message = code) => ({ kind: 'network', error: Object.assign(new Error(message), { code }) }) as const;

describe('squidexFileHash (reference §4 vectors)', () => {
  const inner = (s: string) => createHash('sha256').update(s).digest('base64');
  it('hello.txt', () => {
    expect(inner('hello world')).toBe('uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=');
    expect(squidexFileHash(inner('hello world'), 'hello.txt', 11)).toBe('bvM8MvcTgEVk5T9nZO5U2Aj9Bww2UHlCSYi9LwFDNX0=');
  });
  it('empty.txt', () => {
    expect(squidexFileHash(inner(''), 'empty.txt', 0)).toBe('dyuJYrdW4T7pKc0LVqy8APmmcvZJGHZdAthBpGAGOOw=');
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['logo.png', 'image/png'],
    ['Photo.JPG', 'image/jpeg'],
    ['doc.pdf', 'application/pdf'],
    ['icon.svg', 'image/svg+xml'],
    ['notes.txt', 'text/plain'],
    ['clip.mp4', 'video/mp4'],
    ['no-extension', 'application/octet-stream'],
    ['weird.zzzunknown', 'application/octet-stream'],
    ['Grüße.webp', 'image/webp'],
  ])('%s → %s', (name, type) => expect(contentTypeFor(name)).toBe(type));
});

describe('classifyFailure', () => {
  it('is a SyncError with status and Squidex fields', () => {
    const e = classifyFailure(
      http(409, { message: 'Entity (a--b) already exists.', errorCode: 'OBJECT_CONFLICT', traceId: '00-x' }),
      ctx(),
    );
    expect(e).toBeInstanceOf(SquidexError);
    expect(e).toMatchObject({ code: 'CONFLICT', status: 409, errorCode: 'OBJECT_CONFLICT', traceId: '00-x', retry: 'never' });
  });

  it.each([
    [400, 'HTTP_400'],
    [401, 'AUTH_FAILED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [409, 'CONFLICT'],
    [410, 'GONE'],
    [412, 'VERSION_CONFLICT'],
    [413, 'TOO_LARGE'],
    [415, 'HTTP_415'],
  ])('%i → %s, never retried', (status, code) => {
    const e = classifyFailure(http(status), ctx({ fileName: 'a.png', size: 10 }));
    expect(e.code).toBe(code);
    expect(e.retry).toBe('never');
    expect(e.message).toContain('"a.png"');
  });

  it('400 "ParentId: Asset folder does not exist." → FOLDER_NOT_FOUND', () => {
    const e = classifyFailure(http(400, { message: 'Validation error', details: ['ParentId: Asset folder does not exist.'] }), ctx());
    expect(e).toMatchObject({ code: 'FOLDER_NOT_FOUND', retry: 'never', details: ['ParentId: Asset folder does not exist.'] });
  });

  it('400 passes Squidex details on to the message', () => {
    const e = classifyFailure(http(400, { message: 'Validation error', details: ['File content-type is not defined.'] }), ctx());
    expect(e.message).toContain('File content-type is not defined.');
  });

  it('413 names the file, its size and the 5 MiB default', () => {
    const e = classifyFailure(http(413, { message: 'Request body too large.' }), ctx({ fileName: 'poster.tif', size: 12 * 1024 * 1024 }));
    expect(e.code).toBe('TOO_LARGE');
    expect(e.message).toContain('poster.tif');
    expect(e.message).toContain('12.0 MiB');
    expect(e.message).toContain('assets:maxSize is 5 MiB');
    expect(e.hint).toContain('ASSETS__MAXSIZE');
  });

  it('413 quotes the limit the server stated instead of the default, and says the fix once', () => {
    const e = classifyFailure(
      http(413, { message: 'Request body too large. The max request body size is 1048576 bytes.' }),
      ctx({ fileName: 'brochure.pdf', size: 2 * 1024 * 1024 }),
    );
    expect(e.message).toContain('(2.0 MiB)');
    expect(e.message).toContain('at most 1.0 MiB (1048576 bytes)');
    expect(e.message).not.toContain('5 MiB');
    expect(`${e.message} ${e.hint}`.match(/raise/gi)).toHaveLength(1);
  });

  it('413 for a file below the default limit, with no limit stated, points at a lower limit somewhere', () => {
    const e = classifyFailure(http(413, { message: 'Request body too large.' }), ctx({ fileName: 'a.pdf', size: 2 * 1024 * 1024 }));
    expect(e.message).toMatch(/below Squidex's default limit of 5 MiB/);
    expect(e.hint).toMatch(/client_max_body_size/);
  });

  it.each([500, 502, 504])('%i → SERVER_ERROR retry', (status) => {
    expect(classifyFailure(http(status), ctx())).toMatchObject({ code: 'SERVER_ERROR', retry: 'retry' });
  });

  it('503 with Retry-After pauses the whole server', () => {
    expect(classifyFailure(http(503, '', { 'retry-after': '30' }), ctx())).toMatchObject({ retry: 'pause', retryAfterMs: 30_000 });
  });

  it('408 → TIMEOUT retry', () => expect(classifyFailure(http(408), ctx())).toMatchObject({ code: 'TIMEOUT', retry: 'retry' }));

  it('429 with Retry-After seconds → every worker pauses that long', () => {
    expect(classifyFailure(http(429, '', { 'retry-after': '120' }), ctx())).toMatchObject({
      code: 'RATE_LIMITED',
      retry: 'pause',
      retryAfterMs: 120_000,
    });
  });

  it('429 with an HTTP-date Retry-After', () => {
    const date = new Date(NOW + 90_000).toUTCString();
    expect(classifyFailure(http(429, '', { 'retry-after': date }), ctx()).retryAfterMs).toBe(90_000);
  });

  it('429 without Retry-After is the monthly quota: a pause the queue sizes (growing to QUOTA_PAUSE_MS)', () => {
    const e = classifyFailure(http(429, { message: '', statusCode: 429 }), ctx());
    expect(e).toMatchObject({ code: 'RATE_LIMITED', retry: 'pause' });
    expect(e.retryAfterMs).toBeUndefined();
    expect(QUOTA_PAUSE_MS).toBe(15 * 60_000);
    expect(e.message).toMatch(/API call quota may be used up/);
  });

  it('parseRetryAfter ignores junk', () => {
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'])('%s → NETWORK retry', (code) => {
    expect(classifyFailure(net(code), ctx())).toMatchObject({ code: 'NETWORK', retry: 'retry' });
  });

  it.each(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])('%s → TIMEOUT retry', (code) => {
    expect(classifyFailure(net(code), ctx())).toMatchObject({ code: 'TIMEOUT', retry: 'retry' });
  });

  it('looks through a wrapped socket error', () => {
    const inner = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const outer = Object.assign(new Error('other side closed', { cause: inner }), { code: 'UND_ERR_SOCKET' });
    expect(classifyFailure({ kind: 'network', error: outer }, ctx()).code).toBe('NETWORK');
  });

  it('TLS failures are never retried and point at the ca option', () => {
    const e = classifyFailure(net('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), ctx());
    expect(e).toMatchObject({ code: 'TLS', retry: 'never' });
    expect(e.hint).toContain('`ca`');
  });

  describe('oversize reset rule', () => {
    const big = 6 * 1024 * 1024;
    it('first and second reset above 5 MiB and above the largest accepted upload: suspected, retried', () => {
      for (const resetsAtSize of [0, 1]) {
        const e = classifyFailure(net('ECONNRESET'), ctx({ fileName: 'big.mov', size: big, largestAccepted: 1000, resetsAtSize }));
        expect(e).toMatchObject({ code: 'UPLOAD_TOO_LARGE_SUSPECTED', retry: 'retry' });
        expect(e.message).toContain('big.mov');
      }
    });
    it('third reset at the same size: never', () => {
      const e = classifyFailure(net('EPIPE'), ctx({ fileName: 'big.mov', size: big, largestAccepted: 1000, resetsAtSize: 2 }));
      expect(e).toMatchObject({ code: 'UPLOAD_TOO_LARGE_SUSPECTED', retry: 'never' });
      expect(e.message).toContain('5 MiB');
    });
    it('not suspected when the server already took a larger file, or the file is small', () => {
      expect(classifyFailure(net('ECONNRESET'), ctx({ size: big, largestAccepted: big + 1, resetsAtSize: 5 })).code).toBe('NETWORK');
      expect(classifyFailure(net('ECONNRESET'), ctx({ size: 1024, resetsAtSize: 5 })).code).toBe('NETWORK');
    });
    it('a refused connection is never "too large"', () => {
      expect(classifyFailure(net('ECONNREFUSED'), ctx({ size: big, resetsAtSize: 5 })).code).toBe('NETWORK');
    });
  });

  it('token endpoint 401 invalid_client names the client id, never retries', () => {
    const e = classifyFailure(
      http(401, { error: 'invalid_client', error_description: 'The specified client credentials are invalid.' }),
      ctx({ operation: 'token', clientId: 'demo:sync' }),
    );
    expect(e).toMatchObject({ code: 'AUTH_FAILED', retry: 'never', status: 401 });
    expect(e.message).toMatch(/refused the client id "demo:sync" and its secret/);
  });

  it('token endpoint 5xx is retried', () => {
    expect(classifyFailure(http(502), ctx({ operation: 'token' }))).toMatchObject({ code: 'SERVER_ERROR', retry: 'retry' });
  });
});
