import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, mediaType, readSmallBody, sendJson } from './http.js';

const DOCS = 'https://documentation.openiddict.com/errors/';

function oauthError(status: number, error: string, description: string, id: string, headers: Record<string, string> = {}): ApiError {
  return new ApiError(status, { raw: { error, error_description: description, error_uri: `${DOCS}${id}` } }, headers);
}

/** Opaque bearer tokens with an expiry; real Squidex issues 30-day JWTs, which clients must not parse either. */
export class TokenIssuer {
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly lifetimeSec: number,
  ) {}

  /** POST /identity-server/connect/token with OpenIddict's error bodies (§1). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = mediaType(req);
    const body = await readSmallBody(req);
    if (type !== 'application/x-www-form-urlencoded') {
      throw oauthError(400, 'invalid_request', "The specified 'Content-Type' header is invalid.", 'ID2082');
    }
    const form = new URLSearchParams(body.toString('utf8'));
    const grant = form.get('grant_type');
    if (!grant) throw oauthError(400, 'invalid_request', "The mandatory 'grant_type' parameter is missing.", 'ID2029');
    if (grant !== 'client_credentials')
      throw oauthError(400, 'unsupported_grant_type', "The specified 'grant_type' is not supported.", 'ID2032');
    // OpenIddict also takes the credentials as HTTP Basic (client_secret_basic).
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic && !form.has('client_id')) {
      const [id, ...secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      form.set('client_id', decodeURIComponent(id));
      form.set('client_secret', decodeURIComponent(secret.join(':')));
    }
    if (form.get('client_id') !== this.clientId) throw oauthError(401, 'invalid_client', "The specified 'client_id' is invalid.", 'ID2052');
    if (form.get('client_secret') !== this.clientSecret) {
      throw oauthError(401, 'invalid_client', 'The specified client credentials are invalid.', 'ID2055', {
        'WWW-Authenticate':
          'Basic realm="squidex", error="invalid_client", error_description="The specified client credentials are invalid."',
      });
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, Date.now() + this.lifetimeSec * 1000);
    sendJson(
      res,
      200,
      { access_token: token, token_type: 'Bearer', expires_in: this.lifetimeSec, scope: form.get('scope') || 'squidex-api' },
      {
        'Cache-Control': 'no-store',
        Pragma: 'no-cache',
      },
    );
  }

  /** Throws the 401 ErrorDto of any /api route for a missing, unknown or expired bearer. */
  authenticate(req: IncomingMessage): void {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, { message: '' }, { 'WWW-Authenticate': 'Bearer' });
    const expires = this.tokens.get(m[1]);
    if (expires === undefined || expires <= Date.now()) {
      if (expires !== undefined) this.tokens.delete(m[1]);
      throw new ApiError(
        401,
        { message: '' },
        { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="The specified token is invalid."' },
      );
    }
  }

  /** Test hook: every issued token stops working now, as after a certificate rollover. */
  expireAll(): void {
    this.tokens.clear();
  }
}
