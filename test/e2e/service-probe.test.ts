/**
 * Issue 18 §3: the health probe against a server that accepts requests and
 * never answers. Probes must not pile up (one more hung request every
 * healthProbeSeconds, each holding a connection): at most one is in flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { json, startRawServer, tokenJson, type RawServer } from '../support/rawserver.js';
import { freePort } from '../support/service.js';
import { World } from '../support/world.js';

let world: World | undefined;
let raw: RawServer | undefined;
afterEach(async () => {
  await world?.close();
  await raw?.close();
  world = undefined;
  raw = undefined;
});

describe('the health probe', () => {
  it('keeps at most one request in flight while Squidex hangs', { timeout: 60_000 }, async () => {
    const folderLists: string[] = [];
    raw = await startRawServer((req, res) => {
      if (req.url === '/identity-server/connect/token') return json(res, 200, tokenJson(1));
      if (req.url?.startsWith('/api/apps/demo/assets/folders')) {
        folderLists.push(req.url); // and never answer
        return;
      }
      json(res, 404, { message: 'not here' });
    });
    const port = await freePort();
    world = await World.create({ extra: { http: { port, healthProbeSeconds: 1 } } });
    const w = world;
    const config = w.config() as { squidex: Record<string, unknown> };
    // An hour of idle timeout: only the daemon's own restraint can keep the count down.
    config.squidex = { ...config.squidex, url: raw.url, app: 'demo', timeoutSeconds: 3600 };
    w.writeConfig(config);
    const d = w.startDaemon();
    // The start-up check (preflight) lists the root folders too, and hangs like the probe.
    for (let i = 0; i < 100 && folderLists.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(folderLists.length).toBe(2);
    // Five more probe periods: an unguarded probe would have sent five more requests.
    await new Promise((r) => setTimeout(r, 5000));
    expect(folderLists.length, d.stderr).toBe(2);
    await d.stop('SIGKILL');
  });
});
