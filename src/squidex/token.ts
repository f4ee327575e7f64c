import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';

/** What one token request returned; the client does the HTTP and the error classification. */
export interface TokenResponse {
  accessToken: string;
  expiresInSec: number;
}

export interface TokenSourceOptions {
  clientId?: string;
  clientSecret?: string;
  /** A fixed bearer token instead of client credentials (cannot be refreshed). */
  token?: string;
  clock: Clock;
  logger: Logger;
  fetchToken: () => Promise<TokenResponse>;
}

/** Refresh at 90% of the lifetime, so a token never expires between "valid" and the request reaching the server. */
const REFRESH_AT = 0.9;

/**
 * Caches the access token and fetches a new one single-flight: twenty workers
 * that need a token at once cause one POST to the token endpoint.
 */
export class TokenSource {
  private current: { token: string; refreshAt: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly opts: TokenSourceOptions) {}

  /** False for a static token: a 401 cannot be cured by asking again. */
  get refreshable(): boolean {
    return this.opts.token === undefined;
  }

  /** The token in hand while it is still good: the common case, without a promise. */
  inHand(): string | undefined {
    if (this.opts.token !== undefined) return this.opts.token;
    return this.current && this.opts.clock.now() < this.current.refreshAt ? this.current.token : undefined;
  }

  async get(): Promise<string> {
    if (this.opts.token !== undefined) return this.opts.token;
    const now = this.opts.clock.now();
    if (this.current && now < this.current.refreshAt) return this.current.token;
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drops the token the server just refused (unless another caller already replaced it). */
  invalidate(token: string): void {
    if (this.current?.token === token) this.current = undefined;
  }

  /** Drops the cached token whatever it is: the next get() asks the server. */
  forget(): void {
    this.current = undefined;
  }

  /** Every string that must never appear in a message or log line. */
  secrets(): string[] {
    return [this.opts.clientSecret, this.opts.token, this.current?.token].filter((s): s is string => !!s && s.length >= 4);
  }

  private async fetch(): Promise<string> {
    const startedAt = this.opts.clock.now();
    const res = await this.opts.fetchToken();
    // Measured from before the request, so a slow token endpoint errs on the early side.
    this.current = { token: res.accessToken, refreshAt: startedAt + res.expiresInSec * 1000 * REFRESH_AT };
    this.opts.logger.debug({ clientId: this.opts.clientId, expiresInSec: res.expiresInSec }, 'squidex token fetched');
    return res.accessToken;
  }
}
