import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { parseHeaders } from './undici.js';
import type { Abortable } from './deadline.js';

/** What came back: status, headers as undici's `request` gives them, and the body as text. */
export interface Exchanged {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface ExchangeOptions {
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: string | Buffer | Readable | AsyncIterable<Uint8Array>;
  /** Ends the request with its reason (the client's deadline, or the caller's cancel through it). */
  abort?: Abortable;
}

/**
 * One request and its whole answer as text, through `dispatcher.dispatch`
 * with a handler of our own. It does what `request(url, …)` followed by
 * `body.text()` does — the same errors (the abort's reason), the
 * same headers object, UTF-8 without a BOM — without the response stream, the
 * async resource, the URL object and the abort-signal listeners that
 * `request` makes for every call: on loopback the client's CPU per file sets
 * the pace of a first sync.
 */
export function exchange(dispatcher: Dispatcher, url: string, opts: ExchangeOptions): Promise<Exchanged> {
  const { origin, path } = split(url);
  return new Promise<Exchanged>((resolve, reject) => {
    const handler = new TextHandler(opts.method, opts.body, opts.abort, resolve, reject);
    if (handler.done) return;
    try {
      // undici documents AsyncIterable bodies (Dispatcher.md) though its .d.ts omits them.
      const body = opts.body as string | Buffer | Readable | undefined;
      dispatcher.dispatch({ origin, path, method: opts.method, headers: opts.headers, body }, handler);
    } catch (e) {
      handler.onError(e as Error);
    }
  });
}

/** Origin and path+query; a URL with anything unusual in its path goes through URL, as `request` would. */
function split(url: string): { origin: string; path: string } {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  const path = slash < 0 ? '/' : url.slice(slash);
  if (slash > 0 && /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/.test(path) && !/\/\.\.?(?:[/?]|$)/.test(path)) {
    return { origin: url.slice(0, slash), path };
  }
  const u = new URL(url);
  return { origin: u.origin, path: `${u.pathname}${u.search}` };
}

class TextHandler implements Dispatcher.DispatchHandler {
  done = false;
  #abort: ((reason: Error) => void) | null = null;
  #reason: Error | null = null;
  #status = 0;
  #headers: Record<string, string | string[] | undefined> = {};
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(
    private readonly method: string,
    private readonly body: ExchangeOptions['body'],
    abort: Abortable | undefined,
    private readonly resolve: (r: Exchanged) => void,
    private readonly reject: (e: unknown) => void,
  ) {
    if (!abort) return;
    if (abort.reason !== undefined) {
      this.onError(abort.reason);
      return;
    }
    abort.onAbort((reason) => {
      if (this.done) return;
      this.#reason = reason;
      this.#abort?.(this.#reason);
    });
  }

  onConnect(abort: (reason: Error) => void): void {
    if (this.#reason) abort(this.#reason);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the answer is still to come
    this.#status = statusCode;
    this.#headers = parseHeaders(rawHeaders) as Record<string, string | string[] | undefined>;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    const buf = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#bytes);
    const start = buf.length > 2 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    this.resolve({ statusCode: this.#status, headers: this.#headers, text: this.method === 'HEAD' ? '' : buf.toString('utf8', start) });
  }

  onError(err: Error): void {
    if (this.done) return;
    this.done = true;
    const body = this.body as { destroy?: (e: Error) => void; on?: (ev: string, f: () => void) => void } | undefined;
    if (body && typeof body.destroy === 'function') {
      body.on?.('error', () => {});
      body.destroy(err);
    }
    this.reject(err);
  }
}
