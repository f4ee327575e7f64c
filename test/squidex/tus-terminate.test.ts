import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_FOLDER_ID, SquidexClient } from '../../src/squidex/index.js';
import { TusProtocol } from '../../src/squidex/tus.js';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { waitFor } from '../support/world.js';

/**
 * Dropping an unfinished upload takes the abort signal like every other tus
 * request: a stop cuts the DELETE on the wire instead of leaving it to run
 * until the client is closed. The server reads the request and never answers.
 */
let server: TestServer | undefined;
let client: SquidexClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

describe('TusProtocol.terminate', () => {
  it('ends when its signal aborts, the server never answering', { timeout: 30_000 }, async () => {
    let asked = 0;
    server = await startTestServer({
      tus: true,
      onRequest: (method, path) => {
        if (method !== 'DELETE' || !path.includes('/assets/tus/')) return undefined;
        asked += 1;
        return new Promise<void>(() => undefined);
      },
    });
    client = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret });
    const tus = new TusProtocol(client);
    const url = await tus.create(10, {
      fileName: 'a.bin',
      mimeType: 'application/octet-stream',
      id: crypto.randomUUID(),
      parentId: ROOT_FOLDER_ID,
    });
    const stop = new AbortController();
    let ended: 'resolved' | 'rejected' | undefined;
    const dropping = tus.terminate(url, 'a.bin', stop.signal).then(
      () => (ended = 'resolved'),
      () => (ended = 'rejected'),
    );
    await waitFor(() => asked === 1, 10_000);
    stop.abort(new Error('stopping'));
    await waitFor(() => ended !== undefined, 10_000);
    await dropping;
    expect(ended).toBe('rejected');
    // Nothing else went out: the client stays usable and the upload was only asked to go once.
    expect(asked).toBe(1);
  });
});
