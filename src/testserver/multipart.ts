/**
 * A streaming multipart/form-data parser: bytes go to the sink as they arrive, so a
 * multi-gigabyte upload is hashed without being held in memory.
 */

export class MultipartFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartFormatError';
  }
}

export interface PartSink {
  begin(headers: Map<string, string>): void;
  data(chunk: Buffer): void;
  end(): void;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';

export class MultipartParser {
  private readonly delimiter: Buffer;
  // The leading CRLF lets the first boundary, which has none before it, match the same delimiter.
  private buf: Buffer = Buffer.from('\r\n');
  private state: State = 'preamble';

  constructor(
    boundary: string,
    private readonly sink: PartSink,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  write(chunk: Buffer): void {
    if (this.state === 'done') return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.step());
  }

  end(): void {
    if (this.state !== 'done')
      throw new MultipartFormatError('Unexpected end of Stream, the content may have already been read by another component.');
  }

  /** Advances one state; false when more bytes are needed. */
  private step(): boolean {
    const keep = this.delimiter.length - 1;
    switch (this.state) {
      case 'preamble': {
        const i = this.buf.indexOf(this.delimiter);
        if (i < 0) {
          if (this.buf.length > keep) this.buf = this.buf.subarray(this.buf.length - keep);
          return false;
        }
        this.buf = this.buf.subarray(i + this.delimiter.length);
        this.state = 'afterDelimiter';
        return true;
      }
      case 'afterDelimiter': {
        if (this.buf.length < 2) return false;
        if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
          this.state = 'done';
          this.buf = Buffer.alloc(0);
          return false;
        }
        const i = this.buf.indexOf(CRLF);
        if (i < 0) {
          if (this.buf.length > 1024) throw new MultipartFormatError('Invalid boundary line.');
          return false;
        }
        if (!/^[ \t]*$/.test(this.buf.subarray(0, i).toString('latin1'))) throw new MultipartFormatError('Invalid boundary line.');
        this.buf = this.buf.subarray(i + 2);
        this.state = 'headers';
        return true;
      }
      case 'headers': {
        let headerText: string;
        if (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) {
          headerText = '';
          this.buf = this.buf.subarray(2);
        } else {
          const i = this.buf.indexOf(HEADER_END);
          if (i < 0) {
            if (this.buf.length > MAX_HEADER_BYTES) throw new MultipartFormatError('Multipart headers too long.');
            return false;
          }
          headerText = this.buf.subarray(0, i).toString('utf8');
          this.buf = this.buf.subarray(i + 4);
        }
        this.sink.begin(parseHeaders(headerText));
        this.state = 'body';
        return true;
      }
      case 'body': {
        const i = this.buf.indexOf(this.delimiter);
        if (i < 0) {
          if (this.buf.length > keep) {
            this.sink.data(this.buf.subarray(0, this.buf.length - keep));
            this.buf = this.buf.subarray(this.buf.length - keep);
          }
          return false;
        }
        if (i > 0) this.sink.data(this.buf.subarray(0, i));
        this.sink.end();
        this.buf = this.buf.subarray(i + this.delimiter.length);
        this.state = 'afterDelimiter';
        return true;
      }
      case 'done':
        return false;
    }
  }
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  return headers;
}

/** Header parameters (`; name="x"; filename*=UTF-8''%C3%A4.txt`), quotes and backslash escapes removed. */
export function headerParams(value: string): { type: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const re = /;\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  const semi = value.indexOf(';');
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  for (let m = re.exec(value); m; m = re.exec(value)) {
    let v = m[2].trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(m[1].toLowerCase(), v);
  }
  return { type, params };
}

/** RFC 5987 ext-value: charset'lang'pct-encoded. Returns undefined when it cannot be decoded. */
export function decodeExtValue(v: string): string | undefined {
  const m = /^([^']*)'[^']*'(.*)$/.exec(v);
  if (!m) return undefined;
  const bytes = Buffer.from(
    m[2].replace(/%([0-9a-fA-F]{2})|([^%])/g, (_, hex: string, ch: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : ch)),
    'latin1',
  );
  const charset = m[1].toLowerCase();
  if (charset === 'utf-8') return bytes.toString('utf8');
  if (charset === 'iso-8859-1' || charset === 'latin1') return bytes.toString('latin1');
  return undefined;
}

/** The boundary of a multipart/form-data Content-Type, or undefined when missing. */
export function boundaryOf(contentType: string): string | undefined {
  const b = headerParams(contentType).params.get('boundary');
  return b && b.length <= 70 ? b : undefined;
}
