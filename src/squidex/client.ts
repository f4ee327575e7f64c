import { Bandwidth } from '../lib/throttle.js';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { untilAborted } from '../lib/abort.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { looksLikeHtml } from './answers.js';
import { deadlineMs, MAX_RESPONSE_BYTES, startDeadline } from './deadline.js';
import { classifyFailure, subject, type FailureContext } from './classify.js';
import { paceOf, slowedDown, SquidexError } from './errors.js';
import { exchange, type Exchanged } from './exchange.js';
import type { RequestLimiter } from './limiter.js';
import { openMultipart, type MultipartBody } from './multipart.js';
import { TokenSource, type TokenResponse } from './token.js';
import { enc, odataString, queryString, safeJson, toFolder, type Query } from './wire.js';
import type { AnnotateInput, AssetDto, BulkJob, BulkResult, FindAssetsQuery, FolderDto, UploadResult, UploadSource } from './types.js';

export interface SquidexClientOptions {
  url: string;
  app: string;
  clientId?: string;
  clientSecret?: string;
  /** A fixed bearer token instead of client credentials. */
  token?: string;
  /** Path to a PEM file whose certificates are trusted in addition to the system CAs. */
  ca?: string;
  /**
   * Headers/body idle timeout per request; a server that accepts and goes silent frees the caller after this.
   * Every request also has a total deadline built from it (deadline.ts).
   */
  timeoutMs?: number;
  /** Keep-alive connections to the server; match the worker concurrency. */
  connections?: number;
  /** Upload bandwidth cap across every upload of this client, bytes/s; 0 or absent = unlimited. */
  maxBytesPerSecond?: number;
  /** Longest pause a server's Retry-After is honoured for (default one hour). */
  maxServerPauseMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** `sync.concurrency: auto` (limiter.ts): every API request waits for room under it. Absent: a pinned number, no wait. */
  limiter?: RequestLimiter;
}

interface CallOptions {
  query?: Query;
  json?: unknown;
  upload?: UploadSource;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** The asset version the write is based on: Squidex answers 412 when it has moved on. */
  ifMatch?: number;
  ctx: Omit<FailureContext, 'now' | 'clientId'>;
}

/** One request of a protocol the caller speaks itself (tus, tus.ts); see SquidexClient.send. */
export interface SendRequest {
  method: Dispatcher.HttpMethod;
  /** Absolute: apiUrl('/assets/tus'), or a URL the server handed out (a tus Location) resolved against it. */
  url: string;
  headers?: Record<string, string>;
  /** Called once per attempt: a token refresh sends the body again. */
  body?: () => Buffer | AsyncIterable<Uint8Array>;
  /** Statuses outside 2xx that the caller reads itself instead of getting them thrown. */
  pass?: readonly number[];
  signal?: AbortSignal;
  ctx: Omit<FailureContext, 'now' | 'clientId'>;
}

export interface SendResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface CallResult {
  status: number;
  body: unknown;
  sent?: { sha256: string; bytes: number };
}

/** Cap for findAssets() paging without an explicit `top`: Squidex pages are ≤ 200 items. */
const PAGE = 200;
const MAX_FIND_RESULTS = 10_000;
/**
 * Squidex skips its asset enrichment (metadata text, edit tokens, tag names) for a
 * request with this header (AssetHeaders.NoEnrichment); listings for verify read
 * only ids, parent, name, size, versions and metadata.
 */
const LEAN = { 'x-noassetenrichment': '1' };
/** Times a 429 without Retry-After is sent again at a lower limit (auto only) before it becomes the quota pause. */
const SLOWED_RETRIES = 6;

export class SquidexClient {
  private readonly base: string;
  private readonly agent: Agent;
  private readonly tokens: TokenSource;
  private readonly timeoutMs: number;
  private readonly connections: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  /** The cap shared by every upload of this client (tus.ts sends its chunks through it too). */
  readonly bandwidth: Bandwidth | undefined;
  /** Largest file the server has taken so far and resets seen per file size: see errors.ts (oversize rule). */
  private largestAccepted = 0;
  private readonly resetsBySize = new Map<number, number>();

  constructor(private readonly opts: SquidexClientOptions) {
    if (!/^https?:\/\//.test(opts.url))
      throw new SquidexError('CONFIG_INVALID', `Squidex url must start with http:// or https:// (got "${opts.url}").`);
    if (opts.token === undefined && (!opts.clientId || !opts.clientSecret)) {
      throw new SquidexError('CONFIG_INVALID', 'Squidex needs either clientId and clientSecret, or a token.');
    }
    this.base = opts.url.replace(/\/+$/, '');
    this.bandwidth = opts.maxBytesPerSecond ? new Bandwidth(opts.maxBytesPerSecond) : undefined;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.connections = opts.connections ?? 8;
    this.logger = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? systemClock;
    let ca: string[] | undefined;
    if (opts.ca) {
      try {
        // Node's `ca` replaces the default trust store; we only want to add to it.
        ca = [...rootCertificates, readFileSync(opts.ca, 'utf8')];
      } catch (e) {
        throw new SquidexError('CONFIG_INVALID', `Cannot read the CA file "${opts.ca}".`, { cause: e });
      }
    }
    this.agent = new Agent({
      connections: this.connections,
      keepAliveTimeout: 30_000,
      // An endless or huge answer (a broken proxy) must not fill memory; the token endpoint shares this agent.
      maxResponseSize: MAX_RESPONSE_BYTES,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      // Explicitly true, so not even NODE_TLS_REJECT_UNAUTHORIZED=0 turns verification off.
      connect: { timeout: this.timeoutMs, rejectUnauthorized: true, ...(ca ? { ca } : {}) },
    });
    this.tokens = new TokenSource({
      clientId: opts.clientId,
      clientSecret: opts.clientSecret,
      token: opts.token,
      clock: this.clock,
      logger: this.logger,
      fetchToken: () => this.fetchToken(),
    });
  }

  token(): Promise<string> {
    return this.tokens.get().catch((e) => Promise.reject(this.scrub(e)));
  }

  /** Drops the cached token and asks for a new one (after a laptop slept, the old one may have lapsed). */
  refreshToken(): Promise<string> {
    this.tokens.forget();
    return this.token();
  }

  /**
   * Ends the connections and cuts any request still on the wire. Callers have had
   * what they wait for by now; what is left belongs to nobody who waits (a stamp past
   * the stop's drain, a probe), and undici's graceful close would wait for it up to
   * its own timeout, a minute or more, when the server reads and never answers (and a
   * destroy after a close does not cut it). What such a request carried is still in
   * the state database for the next start.
   */
  async close(): Promise<void> {
    await this.agent.destroy(new SquidexError('STOPPING', 'squidex-sync is stopping', { retry: 'retry' })).catch(() => undefined);
  }

  // ---- folders -------------------------------------------------------------------------------

  /** Children of `parentId` in server order (by name); without it, every folder of the app. */
  async listFolders(parentId?: string, opts: { signal?: AbortSignal } = {}): Promise<FolderDto[]> {
    const r = await this.call('GET', '/assets/folders', { query: { parentId }, signal: opts.signal, ctx: { operation: 'list folders' } });
    return ((r.body as { items?: FolderDto[] }).items ?? []).map(toFolder);
  }

  async createFolder(name: string, parentId: string): Promise<FolderDto> {
    const r = await this.call('POST', '/assets/folders', {
      json: { folderName: name, parentId },
      ctx: { operation: `create folder "${name}"` },
    });
    return toFolder(r.body as FolderDto);
  }

  async renameFolder(id: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<FolderDto> {
    const r = await this.call('PUT', `/assets/folders/${enc(id)}`, {
      json: { folderName: name },
      signal: opts.signal,
      ctx: { operation: `rename folder to "${name}"` },
    });
    return toFolder(r.body as FolderDto);
  }

  async moveFolder(id: string, parentId: string, opts: { signal?: AbortSignal } = {}): Promise<FolderDto> {
    const r = await this.call('PUT', `/assets/folders/${enc(id)}/parent`, {
      json: { parentId },
      signal: opts.signal,
      ctx: { operation: 'move folder' },
    });
    return toFolder(r.body as FolderDto);
  }

  async deleteFolder(id: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.call('DELETE', `/assets/folders/${enc(id)}`, { signal: opts.signal, ctx: { operation: 'delete folder' } });
  }

  // ---- assets --------------------------------------------------------------------------------

  /**
   * Create-or-replace under a client-chosen id. `duplicate=true` so Squidex never answers with
   * some other asset; parentId always, because an upsert without it moves the asset to the root.
   */
  async upsertAsset(id: string, parentId: string, src: UploadSource, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const r = await this.call('POST', `/assets/${enc(id)}`, {
      query: { parentId, duplicate: true },
      upload: src,
      signal: opts.signal,
      ctx: { operation: 'upload', fileName: src.fileName },
    });
    const asset = r.body as AssetDto;
    if (asset?.id !== id) {
      // With duplicate=true Squidex acts on our id; another id means the server did not, and
      // recording it would tie the file to someone else's asset.
      throw new SquidexError(
        'UNEXPECTED_RESPONSE',
        `Upload of "${src.fileName}": Squidex answered with asset "${asset?.id}" instead of "${id}".`,
        {
          retry: 'never',
          status: r.status,
        },
      );
    }
    return { asset, sha256: r.sent!.sha256, bytes: r.sent!.bytes };
  }

  async replaceContent(id: string, src: UploadSource, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const r = await this.call('PUT', `/assets/${enc(id)}/content`, {
      upload: src,
      signal: opts.signal,
      ctx: { operation: 'replace content', fileName: src.fileName },
    });
    return { asset: r.body as AssetDto, sha256: r.sent!.sha256, bytes: r.sent!.bytes };
  }

  /** With `expectedVersion`, a change made on the server meanwhile makes this a 412 (VERSION_CONFLICT), not a lost edit. */
  async annotate(id: string, input: AnnotateInput, opts: { expectedVersion?: number; signal?: AbortSignal } = {}): Promise<AssetDto> {
    const r = await this.call('PUT', `/assets/${enc(id)}`, {
      json: input,
      ifMatch: opts.expectedVersion,
      signal: opts.signal,
      ctx: { operation: 'annotate', fileName: input.fileName },
    });
    return r.body as AssetDto;
  }

  /**
   * Many Annotate/Move/Delete jobs in one request. The request succeeds as a
   * whole (or throws like any call); each job's own failure is in its result.
   */
  async bulk(jobs: readonly BulkJob[]): Promise<BulkResult[]> {
    // Referrers checked for every Delete job, as for single deletes: an asset content still uses is refused, never removed.
    const r = await this.call('POST', '/assets/bulk', { json: { jobs, checkReferrers: true }, ctx: { operation: 'bulk update' } });
    if (!Array.isArray(r.body)) {
      throw new SquidexError('UNEXPECTED_RESPONSE', 'Squidex answered a bulk update without a list of results.', {
        retry: 'retry',
        status: r.status,
      });
    }
    return r.body as BulkResult[];
  }

  async moveAsset(id: string, parentId: string, opts: { signal?: AbortSignal } = {}): Promise<AssetDto> {
    const r = await this.call('PUT', `/assets/${enc(id)}/parent`, {
      json: { parentId },
      signal: opts.signal,
      ctx: { operation: 'move asset' },
    });
    return r.body as AssetDto;
  }

  /**
   * Always with `checkReferrers=true`: an asset that content still uses is refused with a 400
   * whose errorCode is OBJECT_REFERENCED (see isReferencedError), permanent deletes too.
   */
  async deleteAsset(id: string, opts: { permanent?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.call('DELETE', `/assets/${enc(id)}`, {
      query: { checkReferrers: true, permanent: opts.permanent ?? false },
      signal: opts.signal,
      ctx: { operation: 'delete asset' },
    });
  }

  async getAsset(id: string, opts: { signal?: AbortSignal } = {}): Promise<AssetDto | null> {
    try {
      return (await this.call('GET', `/assets/${enc(id)}`, { signal: opts.signal, ctx: { operation: 'get asset' } })).body as AssetDto;
    } catch (e) {
      if (e instanceof SquidexError && e.status === 404) return null;
      throw e;
    }
  }

  /**
   * OData query. With `top`, one page; without, pages of 200 until a short page,
   * a page with no id not seen before (a proxy that drops `$skip` answers the first
   * page again and again), or MAX_FIND_RESULTS (ids de-duplicated, since rows can
   * shift between pages).
   */
  async findAssets(q: FindAssetsQuery, opts: { signal?: AbortSignal } = {}): Promise<AssetDto[]> {
    const clauses: string[] = [];
    if (q.fileHash !== undefined) clauses.push(`fileHash eq ${odataString(q.fileHash)}`);
    if (q.fileName !== undefined) clauses.push(`fileName eq ${odataString(q.fileName)}`);
    for (const [key, value] of Object.entries(q.metadata ?? {})) {
      if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new SquidexError('INVALID_ARGUMENT', `Metadata key "${key}" cannot be used in a filter.`);
      clauses.push(`metadata/${key} eq ${odataString(value)}`);
    }
    const filter = clauses.length ? clauses.join(' and ') : undefined;
    const fetchPage = async (top: number, skip: number): Promise<AssetDto[]> => {
      const r = await this.call('GET', '/assets', {
        query: { parentId: q.parentId, $filter: filter, $top: top, $skip: skip || undefined },
        signal: opts.signal,
        ctx: { operation: 'find assets' },
      });
      return (r.body as { items?: AssetDto[] }).items ?? [];
    };
    if (q.top !== undefined) return fetchPage(q.top, q.skip ?? 0);
    const byId = new Map<string, AssetDto>();
    for (let skip = q.skip ?? 0; byId.size < MAX_FIND_RESULTS; skip += PAGE) {
      const page = await fetchPage(PAGE, skip);
      const before = byId.size;
      for (const a of page) byId.set(a.id, a);
      if (page.length < PAGE || byId.size === before) break;
    }
    return [...byId.values()];
  }

  /**
   * One page (up to 200) of the assets directly in a folder, with the server's
   * total for the folder (-1 when it sent none), so a caller knows whether
   * another page is worth asking for.
   */
  async listFolderAssets(
    parentId: string,
    skip: number,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ items: AssetDto[]; total: number }> {
    const r = await this.call('GET', '/assets', {
      query: { parentId, $top: PAGE, $skip: skip || undefined },
      headers: LEAN,
      signal: opts.signal,
      ctx: { operation: 'list assets' },
    });
    const body = r.body as { items?: AssetDto[]; total?: unknown };
    return { items: body.items ?? [], total: typeof body.total === 'number' ? body.total : -1 };
  }

  /** The live assets among `ids`, wherever they are; deleted and unknown ids are left out. */
  async getAssetsByIds(ids: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<AssetDto[]> {
    if (ids.length === 0) return [];
    const r = await this.call('GET', '/assets', {
      query: { ids: ids.join(',') },
      headers: LEAN,
      signal: opts.signal,
      ctx: { operation: 'get assets by id' },
    });
    return (r.body as { items?: AssetDto[] }).items ?? [];
  }

  // ---- transport -----------------------------------------------------------------------------

  private async fetchToken(): Promise<TokenResponse> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.opts.clientId!,
      client_secret: this.opts.clientSecret!,
      scope: 'squidex-api',
    }).toString();
    const ctx: FailureContext = {
      operation: 'token',
      clientId: this.opts.clientId,
      now: this.clock.now(),
      maxPauseMs: this.opts.maxServerPauseMs,
    };
    const deadline = this.deadline(ctx, 0);
    let res: Exchanged;
    let text: string;
    try {
      res = await exchange(this.agent, `${this.base}/identity-server/connect/token`, {
        method: 'POST',
        body: form,
        abort: deadline,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      });
      text = res.text;
    } catch (e) {
      throw classifyFailure({ kind: 'network', error: e }, ctx);
    } finally {
      deadline.clear();
    }
    if (res.statusCode !== 200) throw classifyFailure({ kind: 'http', status: res.statusCode, headers: res.headers, body: text }, ctx);
    const j = safeJson(text) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (!j || typeof j.access_token !== 'string') {
      // Squidex's token endpoint always sends one with a 200: something else answered (a login page, a proxy).
      throw new SquidexError(
        'PROXY_ERROR',
        `The Squidex token endpoint answered without an access_token${looksLikeHtml(res.headers, text) ? ' (an HTML page: a proxy or login page answered instead)' : ''}.`,
        {
          retry: 'retry',
          status: 200,
          scope: 'transient',
        },
      );
    }
    // Squidex issues 30-day tokens; a missing expires_in is treated as one hour.
    return { accessToken: j.access_token, expiresInSec: typeof j.expires_in === 'number' ? j.expires_in : 3600 };
  }

  private async call(method: Dispatcher.HttpMethod, path: string, opts: CallOptions): Promise<CallResult> {
    for (let n = 0; ; n++) {
      try {
        return await this.callOnce(method, path, opts, true);
      } catch (e) {
        const limiter = this.opts.limiter;
        if (!limiter || n >= SLOWED_RETRIES || !slowedDown(e)) throw this.scrub(e);
        // An abort during the wait shows in the next attempt as ABORTED, like any cancel.
        await delay(limiter.retryDelayMs(n), undefined, { signal: opts.signal }).catch(() => undefined);
      }
    }
  }

  /**
   * The bearer token for a request. A fetch of a new one is shared by every
   * caller, so it takes no caller's signal; a caller that is stopping leaves
   * the wait (the fetch goes on, and the client's close cuts it).
   */
  private bearer(signal: AbortSignal | undefined): string | Promise<string> {
    return this.tokens.inHand() ?? untilAborted(this.tokens.get(), signal);
  }

  private async callOnce(method: Dispatcher.HttpMethod, path: string, opts: CallOptions, mayRefresh: boolean): Promise<CallResult> {
    const token = await this.bearer(opts.signal);
    const url = `${this.base}/api/apps/${enc(this.opts.app)}${path}${queryString(opts.query)}`;
    const headers: Record<string, string> = { ...opts.headers, authorization: `Bearer ${token}`, accept: 'application/json' };
    if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
    let mp: MultipartBody | undefined;
    let body: string | Buffer | AsyncIterable<Uint8Array> | undefined;
    // Waits before the file is opened: a request that has no room holds no file.
    const ticket = this.opts.limiter && (await this.opts.limiter.enter(opts.signal));
    let answered: number | undefined;
    if (opts.upload) {
      mp = await openMultipart(opts.upload, this.bandwidth).catch((e: unknown): never => {
        ticket?.done('none');
        throw e;
      });
      headers['content-type'] = mp.contentType;
      headers['content-length'] = String(mp.contentLength);
      body = mp.body;
    } else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    const ctx = (): FailureContext => ({
      ...opts.ctx,
      clientId: this.opts.clientId,
      now: this.clock.now(),
      size: mp?.size,
      maxPauseMs: this.opts.maxServerPauseMs,
      largestAccepted: this.largestAccepted,
      resetsAtSize: mp ? (this.resetsBySize.get(mp.size) ?? 0) : undefined,
    });
    const started = this.clock.now();
    const deadline = this.deadline(opts.ctx, mp?.contentLength ?? 0, opts.signal);
    let res: Exchanged;
    let text: string;
    try {
      res = await exchange(this.agent, url, { method, headers, body, abort: deadline });
      answered = res.statusCode;
      text = res.text;
    } catch (e) {
      const err = classifyFailure({ kind: 'network', error: e }, ctx());
      if (mp && err.code === 'UPLOAD_TOO_LARGE_SUSPECTED') this.noteReset(mp.size);
      throw err;
    } finally {
      ticket?.done(paceOf(answered), mp?.contentLength);
      deadline.clear();
      await mp?.close();
    }
    this.logger.debug({ method, path, status: res.statusCode, ms: this.clock.now() - started }, 'squidex request');
    if (res.statusCode === 401 && mayRefresh && this.tokens.refreshable) {
      // The token expired early or was revoked: drop it, get a new one, try exactly once more.
      this.tokens.invalidate(token);
      return this.callOnce(method, path, opts, false);
    }
    if (res.statusCode < 200 || res.statusCode >= 300) {
      throw classifyFailure({ kind: 'http', status: res.statusCode, headers: res.headers, body: text }, ctx());
    }
    if (text && looksLikeHtml(res.headers, text)) {
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

  /** The request's total deadline; it aborts with TIMEOUT (retried), the caller's own abort stays ABORTED. */
  private deadline(ctx: Pick<FailureContext, 'operation' | 'fileName'>, bodyBytes: number, outer?: AbortSignal) {
    const ms = deadlineMs({
      timeoutMs: this.timeoutMs,
      bodyBytes,
      capBytesPerSecond: this.bandwidth?.bytesPerSecond ?? 0,
      connections: this.connections,
    });
    return startDeadline(
      ms,
      () =>
        new SquidexError(
          'TIMEOUT',
          `${subject(ctx)}: Squidex did not finish answering within ${Math.round(ms / 1000)} s (it or a proxy in front of it is sending too slowly).`,
          { retry: 'retry', scope: 'transient' },
        ),
      outer,
    );
  }

  /**
   * One request whose answer the caller reads itself (the tus protocol in
   * tus.ts): the same agent, CA, timeouts, token (refreshed once on 401) and
   * secret scrubbing as every call. Network failures, and statuses outside
   * 2xx and `pass`, are classified as everywhere else.
   */
  async send(req: SendRequest): Promise<SendResponse> {
    try {
      return await this.sendOnce(req, true);
    } catch (e) {
      throw this.scrub(e);
    }
  }

  private async sendOnce(req: SendRequest, mayRefresh: boolean): Promise<SendResponse> {
    const url = this.target(req.url);
    const token = await this.bearer(req.signal);
    const ctx = (): FailureContext => ({
      ...req.ctx,
      clientId: this.opts.clientId,
      now: this.clock.now(),
      maxPauseMs: this.opts.maxServerPauseMs,
    });
    const started = this.clock.now();
    const bytes = Number(req.headers?.['content-length'] ?? 0);
    const ticket = this.opts.limiter && (await this.opts.limiter.enter(req.signal));
    const deadline = this.deadline(req.ctx, bytes, req.signal);
    let res: Exchanged;
    let text: string;
    let answered: number | undefined;
    try {
      const body = req.body?.() as string | Buffer | Readable | undefined;
      res = await exchange(this.agent, url, {
        method: req.method,
        headers: { authorization: `Bearer ${token}`, ...req.headers },
        body,
        abort: deadline,
      });
      answered = res.statusCode;
      text = res.text;
    } catch (e) {
      throw classifyFailure({ kind: 'network', error: e }, ctx());
    } finally {
      ticket?.done(paceOf(answered), bytes);
      deadline.clear();
    }
    this.logger.debug(
      { method: req.method, path: new URL(url).pathname, status: res.statusCode, ms: this.clock.now() - started },
      'squidex request',
    );
    if (res.statusCode === 401 && mayRefresh && this.tokens.refreshable) {
      this.tokens.invalidate(token);
      return this.sendOnce(req, false);
    }
    if ((res.statusCode < 200 || res.statusCode >= 300) && !req.pass?.includes(res.statusCode)) {
      throw classifyFailure({ kind: 'http', status: res.statusCode, headers: res.headers, body: text }, ctx());
    }
    return { status: res.statusCode, headers: res.headers, body: text };
  }

  /** The absolute URL of a path below `/api/apps/{app}`. */
  apiUrl(path: string): string {
    return `${this.base}/api/apps/${enc(this.opts.app)}${path}`;
  }

  /** Only the configured origin is ever sent the token: a Location pointing elsewhere is refused. */
  private target(u: string): string {
    const url = new URL(u);
    if (url.origin !== new URL(this.base).origin) {
      throw new SquidexError(
        'UNEXPECTED_RESPONSE',
        `Squidex pointed an upload at ${url.origin}, not at ${new URL(this.base).origin}; the token is not sent there.`,
        {
          retry: 'never',
        },
      );
    }
    return url.toString();
  }

  private noteAccepted(size: number): void {
    if (size > this.largestAccepted) this.largestAccepted = size;
    for (const s of this.resetsBySize.keys()) if (s <= size) this.resetsBySize.delete(s);
  }

  private noteReset(size: number): void {
    if (this.resetsBySize.size > 1000) this.resetsBySize.clear(); // bounded memory; worst case one more retry
    this.resetsBySize.set(size, (this.resetsBySize.get(size) ?? 0) + 1);
  }

  /** Defence in depth: whatever a server echoes, the secret and tokens never leave in a message. */
  private scrub(e: unknown): unknown {
    if (!(e instanceof Error)) return e;
    for (const s of this.tokens.secrets()) {
      if (e.message.includes(s)) e.message = e.message.split(s).join('[redacted]');
    }
    return e;
  }
}
