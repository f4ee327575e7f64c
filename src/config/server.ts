/** The `squidex:` section: where the server is, which app, and how to authenticate. */
import { type Section, show } from './reader.js';
import { DEFAULTS, type Config } from './types.js';
import { type Context, resolveUserPath } from './context.js';

export const SQUIDEX_KEYS = [
  'url',
  'app',
  'clientId',
  'clientSecret',
  'token',
  'ca',
  'timeoutSeconds',
  'connectTimeoutSeconds',
  'allowInsecureHttp',
] as const;
/** Squidex's own rule for app names. */
const APP_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export function readSquidex(s: Section, ctx: Context): Config['squidex'] {
  const rawUrl = s.str('url', 'the base URL of your Squidex instance, e.g. https://cloud.squidex.io');
  const allowInsecureHttp = s.bool('allowInsecureHttp', DEFAULTS.squidex.allowInsecureHttp);
  const url = rawUrl === undefined ? '' : checkUrl(rawUrl, s, allowInsecureHttp);
  const app = s.str('app', 'the name of the Squidex app whose assets to fill, e.g. atlas') ?? '';
  if (app && !APP_NAME.test(app))
    s.error('app', `expected a Squidex app name (lower-case letters, digits and single dashes, e.g. atlas), got ${show(app, '')}`);

  const token = s.str('token');
  let clientId: string | undefined;
  let clientSecret: string | undefined;
  if (token !== undefined) {
    if (s.has('clientId') || s.has('clientSecret')) s.error('token', 'set either token or clientId + clientSecret, not both');
  } else {
    clientId = s.str('clientId', "the client id from the app's Settings → Clients, e.g. atlas:sync (or set token)");
    clientSecret = s.str('clientSecret', 'the client secret, best as ${SQUIDEX_CLIENT_SECRET} from the environment (or set token)');
  }
  const ca = s.str('ca');
  const timeoutSeconds = s.num('timeoutSeconds', DEFAULTS.squidex.timeoutSeconds, { min: 1, max: 3600, integer: false });
  const connectTimeoutSeconds = s.num('connectTimeoutSeconds', DEFAULTS.squidex.connectTimeoutSeconds, {
    min: 0,
    max: 86_400,
    integer: false,
  });
  return {
    url,
    app,
    ...(clientId !== undefined && { clientId }),
    ...(clientSecret !== undefined && { clientSecret }),
    ...(token !== undefined && { token }),
    ...(ca !== undefined && { ca: resolveUserPath(ca, ctx) }),
    timeoutSeconds,
    connectTimeoutSeconds,
    allowInsecureHttp,
  };
}

function checkUrl(raw: string, s: Section, allowInsecure: boolean): string {
  const expected = 'expected an http(s) URL such as https://cloud.squidex.io';
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    // Do not quote it: a URL with credentials in it is a secret.
    s.error('url', `${expected}, got something that is not a URL`);
    return '';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    s.error('url', `${expected}, got a ${u.protocol.replace(':', '')} URL`);
    return '';
  }
  if (u.username || u.password) {
    s.error('url', 'must not contain a user name or password; Squidex authenticates with clientId/clientSecret');
    return '';
  }
  if (u.search || u.hash) s.error('url', `${expected}, without ?query or #fragment`);
  if (u.protocol === 'http:' && !allowInsecure && !isLoopback(u.hostname)) {
    s.error(
      'url',
      `plain http is allowed only for this machine (localhost, 127.0.0.1, ::1): the client secret, tokens and every file would travel in clear — use https, or set squidex.allowInsecureHttp: true on a network you trust`,
    );
  }
  return `${u.origin}${u.pathname}`.replace(/\/+$/, '');
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
