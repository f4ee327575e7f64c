import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { looksLikeHtml } from './answers.js';
import { classifyFailure, type FailureContext } from './classify.js';
import type { Connection } from './connection.js';
import { paceOf, slowedDown, SquidexError } from './errors.js';
import { exchange, type Exchanged } from './exchange.js';
import { openMultipart, type MultipartBody } from './multipart.js';
import type { UploadSource } from './types.js';
import { queryString, safeJson, type Query } from './wire.js';

export interface CallOptions {
  query?: Query;
  json?: unknown;
  upload?: UploadSource;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** The asset version the write is based on: Squidex answers 412 when it has moved on. */
  ifMatch?: number;
  ctx: Omit<FailureContext, 'now' | 'clientId'>;
}

export interface CallResult {
  status: number;
  body: unknown;
  sent?: { sha256: string; bytes: number };
}

/** Times a 429 without Retry-After is sent again at a lower limit (auto only) before it becomes the quota pause. */
const SLOWED_RETRIES = 6;

/**
 * One call of the Squidex API below `/api/apps/{app}`: JSON or a multipart
 * upload out, JSON back, the token refreshed once on 401, a 429 without
 * Retry-After sent again at a lower limit (auto only).
 */
export class ApiCaller {
  /** Largest file the server has taken so far and resets seen per file size: see errors.ts (oversize rule). */
  private largestAccepted = 0;
  private readonly resetsBySize = new Map<number, number>();

  constructor(private readonly conn: Connection) {}

  async call(method: Dispatcher.HttpMethod, path: string, opts: CallOptions): Promise<CallResult> {
    for (let n = 0; ; n++) {
      try {
        return await this.callOnce(method, path, opts, true);
      } catch (e) {
        const limiter = this.conn.limiter;
        if (!limiter || n >= SLOWED_RETRIES || !slowedDown(e)) throw this.conn.scrub(e);
        // An abort during the wait shows in the next attempt as ABORTED, like any cancel.
        await delay(limiter.retryDelayMs(n), undefined, { signal: opts.signal }).catch(() => undefined);
      }
    }
  }

  private async callOnce(method: Dispatcher.HttpMethod, path: string, opts: CallOptions, mayRefresh: boolean): Promise<CallResult> {
    const conn = this.conn;
    // The token in hand, the room and a small file's body come without a promise: no turn of the event loop for them.
    const bearer = conn.bearer(opts.signal);
    const token = typeof bearer === 'string' ? bearer : await bearer;
    const url = `${conn.apiUrl(path)}${queryString(opts.query)}`;
    const headers: Record<string, string> = { ...opts.headers, authorization: `Bearer ${token}`, accept: 'application/json' };
    if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
    let mp: MultipartBody | undefined;
    let body: string | Buffer | AsyncIterable<Uint8Array> | undefined;
    // Waits before the file is opened: a request that has no room holds no file.
    const gate = conn.gate(opts.upload !== undefined);
    const ticket = gate && (gate.enterNow(opts.signal) ?? (await gate.enter(opts.signal)));
    let answered: number | undefined;
    if (opts.upload) {
      try {
        const opening = openMultipart(opts.upload, conn.bandwidth);
        mp = opening instanceof Promise ? await opening : opening;
      } catch (e) {
        ticket?.done('none');
        throw e;
      }
      headers['content-type'] = mp.contentType;
      headers['content-length'] = String(mp.contentLength);
      body = mp.body;
    } else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const ctx = (): FailureContext => ({
      ...conn.context(opts.ctx),
      size: mp?.size,
      largestAccepted: this.largestAccepted,
      resetsAtSize: mp ? (this.resetsBySize.get(mp.size) ?? 0) : undefined,
    });
    const started = conn.clock.now();
    const deadline = conn.deadline(opts.ctx, mp?.contentLength ?? 0, opts.signal);
    let res: Exchanged;
    let text: string;
    let html = false;
    /** Squidex read the whole body and took it: nothing of it waits in the socket (multipart.ts). */
    let delivered = false;
    try {
      res = await exchange(conn.agent, url, { method, headers, body, abort: deadline });
      answered = res.statusCode;
      text = res.text;
      html = text !== '' && looksLikeHtml(res.headers, text);
      delivered = answered >= 200 && answered < 300 && !html && mp?.sent() !== undefined;
    } catch (e) {
      const err = classifyFailure({ kind: 'network', error: e }, ctx());
      if (mp && err.code === 'UPLOAD_TOO_LARGE_SUSPECTED') this.noteReset(mp.size);
      throw err;
    } finally {
      ticket?.done(paceOf(answered), mp?.contentLength);
      deadline.clear();
      const closing = mp?.close(delivered);
      if (closing) await closing;
    }
    // Checked first: the fields would be gathered for every request only to be dropped at the usual level.
    if (conn.logger.isLevelEnabled('debug'))
      conn.logger.debug({ method, path, status: res.statusCode, ms: conn.clock.now() - started }, 'squidex request');
    if (res.statusCode === 401 && mayRefresh && conn.tokens.refreshable) {
      // The token expired early or was revoked: drop it, get a new one, try exactly once more.
      conn.tokens.invalidate(token);
      return this.callOnce(method, path, opts, false);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw classifyFailure({ kind: 'http', status: res.statusCode, headers: res.headers, body: text }, ctx());
    }
    if (html) {
      // A captive portal or a proxy's page with a 200: Squidex did not see this request.
      throw new SquidexError(
        'PROXY_ERROR',
        `${opts.ctx.operation}: an HTML page came back instead of Squidex's answer (a proxy or login page answered).`,
        {
          retry: 'retry',
          status: res.statusCode,
          scope: 'transient',
        },
      );
    }
    const result: CallResult = { status: res.statusCode, body: text ? safeJson(text) : undefined };
    if (mp) {
      result.sent = mp.sent();
      if (!result.sent) {
        // A success before the whole file went out cannot be trusted to hold the whole file.
        throw new SquidexError(
          'UNEXPECTED_RESPONSE',
          `${opts.ctx.operation} of "${opts.upload!.fileName}": Squidex answered before the whole file was sent.`,
          {
            retry: 'retry',
            status: res.statusCode,
          },
        );
      }
      this.noteAccepted(mp.size);
    }
    return result;
  }

  private noteAccepted(size: number): void {
    if (size > this.largestAccepted) this.largestAccepted = size;
    for (const s of this.resetsBySize.keys()) if (s <= size) this.resetsBySize.delete(s);
  }

  private noteReset(size: number): void {
    if (this.resetsBySize.size > 1000) this.resetsBySize.clear(); // bounded memory; worst case one more retry
    this.resetsBySize.set(size, (this.resetsBySize.get(size) ?? 0) + 1);
  }
}
