import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { getToken } from '../support/testserver.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function tokenRequest(s: TestServer, fields: Record<string, string>): Promise<Response> {
  return fetch(`${s.url}/identity-server/connect/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
}

describe('test server: token endpoint and bearer auth', () => {
  it('issues a client-credentials token shaped like OpenIddict', async () => {
    server = await startTestServer();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.clientId).toBe('demo:sync');
    const res = await tokenRequest(server, {
      grant_type: 'client_credentials',
      client_id: 'demo:sync',
      client_secret: 'demo-secret',
      scope: 'squidex-api',
    });
    expect(res.status).toBe(200);
    const b = (await res.json()) as Record<string, unknown>;
    expect(b).toMatchObject({ token_type: 'Bearer', expires_in: 2592000, scope: 'squidex-api' });
    expect(typeof b.access_token).toBe('string');
    expect(server.inspect().counters.tokens).toBe(1);
    expect(server.inspect().counters.byRoute['POST /token']).toBe(1);
  });

  it('answers bad credentials and grants with the OpenIddict error bodies', async () => {
    server = await startTestServer();
    const wrongSecret = await tokenRequest(server, { grant_type: 'client_credentials', client_id: 'demo:sync', client_secret: 'nope' });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toEqual({
      error: 'invalid_client',
      error_description: 'The specified client credentials are invalid.',
      error_uri: 'https://documentation.openiddict.com/errors/ID2055',
    });
    const unknown = await tokenRequest(server, { grant_type: 'client_credentials', client_id: 'demo:other', client_secret: 'demo-secret' });
    expect(unknown.status).toBe(401);
    expect(((await unknown.json()) as Record<string, string>).error_description).toBe("The specified 'client_id' is invalid.");
    const noGrant = await tokenRequest(server, { client_id: 'demo:sync', client_secret: 'demo-secret' });
    expect(noGrant.status).toBe(400);
    expect(await noGrant.json()).toMatchObject({
      error: 'invalid_request',
      error_description: "The mandatory 'grant_type' parameter is missing.",
    });
    const badGrant = await tokenRequest(server, { grant_type: 'password', client_id: 'demo:sync', client_secret: 'demo-secret' });
    expect(badGrant.status).toBe(400);
    expect(((await badGrant.json()) as Record<string, string>).error).toBe('unsupported_grant_type');
  });

  it('accepts the client credentials as HTTP Basic too', async () => {
    server = await startTestServer();
    const res = await fetch(`${server.url}/identity-server/connect/token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: `Basic ${Buffer.from('demo%3Async:demo-secret').toString('base64')}`,
      },
      body: 'grant_type=client_credentials&scope=squidex-api',
    });
    expect(res.status).toBe(200);
  });

  it('rejects missing, unknown and expired bearers with a 401 ErrorDto', async () => {
    // 3 s: long enough that a stalled machine does not expire the token before its first use.
    server = await startTestServer({ tokenLifetimeSec: 3 });
    const url = `${server.url}/api/apps/demo/assets`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    const b = (await none.json()) as Record<string, unknown>;
    expect(b).toMatchObject({ message: '', statusCode: 401, type: 'https://www.rfc-editor.org/rfc/rfc7235#section-3.1' });
    expect(b.traceId).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect((await fetch(url, { headers: { Authorization: 'Bearer forged' } })).status).toBe(401);

    const token = await getToken(server);
    expect((await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 3100));
    expect((await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('expires every token on POST /_test/expire-tokens', async () => {
    server = await startTestServer();
    const token = await getToken(server);
    const url = `${server.url}/api/apps/demo/assets/folders`;
    expect((await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${server.url}/_test/expire-tokens`, { method: 'POST' })).status).toBe(204);
    expect((await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('answers 404 for an unknown app after authentication', async () => {
    server = await startTestServer({ app: 'atlas', clientId: 'atlas:sync' });
    const token = await getToken(server);
    const res = await fetch(`${server.url}/api/apps/other/assets`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ message: '', statusCode: 404 });
  });
});
