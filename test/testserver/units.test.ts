import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readableSize } from '../../src/testserver/dto.js';
import { FaultInjector, prng } from '../../src/testserver/faults.js';
import { MultipartFormatError, MultipartParser, decodeExtValue, headerParams } from '../../src/testserver/multipart.js';
import { parseFilter } from '../../src/testserver/query.js';
import { slugify } from '../../src/testserver/slug.js';
import { fileHashOf } from '../../src/testserver/store.js';
import { multipart } from '../support/testserver.js';

function parse(body: Buffer, boundary: string, chunkSize: number): { headers: Map<string, string>; data: Buffer }[] {
  const parts: { headers: Map<string, string>; data: Buffer[] }[] = [];
  const p = new MultipartParser(boundary, {
    begin: (headers) => parts.push({ headers, data: [] }),
    data: (c) => parts[parts.length - 1].data.push(Buffer.from(c)),
    end: () => undefined,
  });
  for (let i = 0; i < body.length; i += chunkSize) p.write(body.subarray(i, i + chunkSize));
  p.end();
  return parts.map((x) => ({ headers: x.headers, data: Buffer.concat(x.data) }));
}

describe('test server units', () => {
  it('parses multipart bodies identically whatever the chunking', () => {
    const tricky = Buffer.from('line\r\n--not-the-boundary\r\n--b\r\nx--');
    const body = multipart(
      [
        { name: 'a', data: 'field' },
        { filename: 'x.bin', contentType: 'application/octet-stream', data: tricky },
        { filename: 'e.txt', contentType: 'text/plain', data: '' },
      ],
      'bnd',
    );
    for (const size of [1, 2, 3, 7, 64, body.length]) {
      const parts = parse(body, 'bnd', size);
      expect(parts.map((p) => p.data.toString())).toEqual(['field', tricky.toString(), '']);
      expect(parts[1].headers.get('content-type')).toBe('application/octet-stream');
    }
  });

  it('rejects a body that never closes', () => {
    const body = multipart([{ filename: 'x', contentType: 'a/b', data: 'x' }], 'bnd');
    expect(() => parse(body.subarray(0, body.length - 8), 'bnd', 5)).toThrow(MultipartFormatError);
  });

  it('reads header parameters and RFC 5987 values', () => {
    const { type, params } = headerParams(`form-data; name="file"; filename="a \\"q\\".txt"; filename*=UTF-8''%C3%A4.txt`);
    expect(type).toBe('form-data');
    expect(params.get('filename')).toBe('a "q".txt');
    expect(decodeExtValue(params.get('filename*')!)).toBe('ä.txt');
    expect(decodeExtValue("iso-8859-1'en'%E4.txt")).toBe('ä.txt');
  });

  it('computes fileHash with the reference vectors', () => {
    const digest = (s: string) => createHash('sha256').update(s).digest();
    expect(fileHashOf(digest('hello world'), 'hello.txt', 11)).toBe('bvM8MvcTgEVk5T9nZO5U2Aj9Bww2UHlCSYi9LwFDNX0=');
    expect(fileHashOf(digest(''), 'empty.txt', 0)).toBe('dyuJYrdW4T7pKc0LVqy8APmmcvZJGHZdAthBpGAGOOw=');
  });

  it('slugifies like Squidex.Text with "." preserved', () => {
    expect(slugify('My Image.PNG')).toBe('my-image.png');
    expect(slugify('Über Größe — final (2).jpeg')).toBe('ueber-groesse-final-2-.jpeg'); // the real algorithm keeps a '-' before a preserved '.'
    expect(slugify('Crème brûlée.txt')).toBe('creme-brulee.txt');
    expect(slugify('  a  b  ')).toBe('a-b');
    expect(slugify('東京.png')).toBe('東京.png');
  });

  it('formats sizes like metadataText', () => {
    expect(readableSize(0)).toBe('0 bytes');
    expect(readableSize(1023)).toBe('1023 bytes');
    expect(readableSize(19430)).toBe('19 kB');
    expect(readableSize(1.5 * 1024 * 1024)).toBe('1.5 MB');
  });

  it('parses $filter clauses with quotes and and', () => {
    expect(parseFilter("fileName eq 'a and b''s' and metadata/x/y eq 3")).toEqual([
      { path: ['fileName'], value: "a and b's" },
      { path: ['metadata', 'x', 'y'], value: 3 },
    ]);
    expect(() => parseFilter('fileName eq')).toThrow();
    expect(() => parseFilter("nope eq 'x'")).toThrow();
    expect(() => parseFilter("fileName eq 'x' or fileName eq 'y'")).toThrow();
  });

  it('replays faults from a seed', () => {
    const a = prng(42);
    const b = prng(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    const plans = (seed: number) => {
      const f = new FaultInjector(seed, { rate5xx: 0.3, rate429: 0.2, latencySpikeRate: 0.5, latencySpikeMs: 7 });
      return Array.from({ length: 50 }, () => f.plan());
    };
    expect(plans(7)).toEqual(plans(7));
    expect(plans(7)).not.toEqual(plans(8));
    expect(() => new FaultInjector(1, { rate5xx: 2 })).toThrow();
    expect(() => new FaultInjector(1, { bogus: 1 } as never)).toThrow();
  });
});
