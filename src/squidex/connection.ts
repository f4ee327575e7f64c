import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { untilAborted } from '../lib/abort.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { Bandwidth } from '../lib/throttle.js';
import { looksLikeHtml } from './answers.js';
import { Agent } from './undici.js';
import { classifyFailure, subject, type FailureContext } from './classify.js';
import { deadlineMs, MAX_RESPONSE_BYTES, startDeadline, type Deadline } from './deadline.js';
import { SquidexError } from './errors.js';
import { exchange, type Exchanged } from './exchange.js';
import type { RequestLimiter } from './limiter.js';
import { TokenSource, type TokenResponse } from './token.js';
import { enc, safeJson } from './wire.js';

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
  /** `sync.concurrency: auto` (limiter.ts): every API request waits for room under it. */
  limiter?: RequestLimiter;
  /** A pinned number (gate.ts): only the requests that carry a file's bytes wait for room under it; the rest go beside. */
  uploads?: RequestLimiter;
}

/**
 * What every request to one Squidex shares: the agent (CA, timeouts, size cap),
 * the token, the deadline rule, the limiter and the scrubbing of secrets. The
 * API calls (call.ts) and the raw requests of tus (send.ts) go through it.
 */
export class Connection {
  readonly base: string;
  readonly agent: Agent;
  readonly tokens: TokenSource;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly limiter: RequestLimiter | undefined;
  readonly uploads: RequestLimiter | undefined;
  /** The cap shared by every upload of this client (tus.ts sends its chunks through it too). */
  readonly bandwidth: Bandwidth | undefined;
  private readonly timeoutMs: number;
  private readonly connections: number;

  constructor(readonly opts: SquidexClientOptions) {
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
    this.limiter = opts.limiter;
    this.uploads = opts.uploads;
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

  /** The absolute URL of a path below `/api/apps/{app}`. */
  apiUrl(path: string): string {
    return `${this.base}/api/apps/${enc(this.opts.app)}${path}`;
  }

  /** The fields of a failure's context that come from the connection. */
  context(ctx: Omit<FailureContext, 'now' | 'clientId'>): FailureContext {
    return { ...ctx, clientId: this.opts.clientId, now: this.clock.now(), maxPauseMs: this.opts.maxServerPauseMs };
  }

  /** What a request waits under: every request under auto; under a pinned number, uploads only. */
  gate(upload: boolean): RequestLimiter | undefined {
    return this.limiter ?? (upload ? this.uploads : undefined);
  }

  /**
   * The bearer token for a request. A fetch of a new one is shared by every
   * caller, so it takes no caller's signal; a caller that is stopping leaves
   * the wait (the fetch goes on, and the client's close cuts it).
   */
  bearer(signal: AbortSignal | undefined): string | Promise<string> {
    return this.tokens.inHand() ?? untilAborted(this.tokens.get(), signal);
  }

  /** The request's total deadline; it aborts with TIMEOUT (retried), the caller's own abort stays ABORTED. */
  deadline(ctx: Pick<FailureContext, 'operation' | 'fileName'>, bodyBytes: number, outer?: AbortSignal): Deadline {
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

  /** Only the configured origin is ever sent the token: a Location pointing elsewhere is refused. */
  target(u: string): string {
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

  /** Defence in depth: whatever a server echoes, the secret and tokens never leave in a message. */
  scrub(e: unknown): unknown {
    if (!(e instanceof Error)) return e;
    for (const s of this.tokens.secrets()) {
      if (e.message.includes(s)) e.message = e.message.split(s).join('[redacted]');
    }
    return e;
  }

  private async fetchToken(): Promise<TokenResponse> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.opts.clientId!,
      client_secret: this.opts.clientSecret!,
      scope: 'squidex-api',
    }).toString();
    const ctx = this.context({ operation: 'token' });
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
}
