import { afterEach, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/lib/log.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { waitFor } from '../support/world.js';

// Found in review of 896c416: "a finished job is recorded at most about a second after it ended"
// is measured with the wall clock (ctx.clock = Date.now). When the clock steps back
// (NTP correction after a VM resume, a bad RTC at boot), `now - #settledAt` is negative
// and the outcome is not recorded until the wall clock catches up again (here: an hour),
// while long uploads hold every slot and claimed jobs wait: exactly the case 896c416 fixed.
let server: TestServer | undefined;
let rt: Runtime | undefined;
let dir: string | undefined;
let releaseAll: () => void = () => undefined;
afterEach(async () => {
  releaseAll();
  await rt?.pool.stop(1000).catch(() => undefined);
  await rt?.close().catch(() => undefined);
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  rt = undefined; server = undefined; dir = undefined;
});

it('a finished job is recorded within seconds even after the wall clock stepped back', async () => {
  server = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'sqsync-regress-'));
  const local = join(dir, 'share');
  mkdirSync(local);
  writeFileSync(join(local, 'a-small.txt'), 'small');
  for (let i = 0; i < 20; i++) writeFileSync(join(local, `b${String(i).padStart(2, '0')}.bin`), `long upload ${i}`);
  const file = join(dir, 'sync.yaml');
  writeFileSync(file, stringify({
    squidex: { url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret },
    state: './state/state.db',
    sync: { backoffBaseMs: 50, backoffMaxMs: 200, concurrency: 8 },
    mappings: [{ name: 'm', local, remote: 'M' }],
  }));
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  rt = openRuntime(loadConfig(file, process.env, { missingLocal: 'allow' }), { logger: silentLogger, clock });
  const r = rt;
  const s = server;

  let releaseLong: () => void = () => undefined;
  let releaseSmall: () => void = () => undefined;
  const long = new Promise<void>((res) => (releaseLong = res));
  const small = new Promise<void>((res) => (releaseSmall = res));
  releaseAll = () => { releaseLong(); releaseSmall(); };
  let smallStarted = false;
  const client = r.client as unknown as { upsertAsset: (id: string, parentId: string, src: { fileName: string }, ...rest: unknown[]) => Promise<unknown> };
  const real = client.upsertAsset.bind(client);
  client.upsertAsset = async (id, parentId, src, ...rest) => {
    if (src.fileName.startsWith('b')) await long; // big files on a slow line
    else { smallStarted = true; await small; }
    return real(id, parentId, src, ...rest);
  };

  await r.rescan(r.config.mappings[0]);
  r.pool.start();
  await waitFor(() => smallStarted, 10_000, () => 'the small upload never started');
  await new Promise((res) => setTimeout(res, 300)); // the claims are made, every slot is busy
  offset = -60 * 60_000; // the wall clock steps back one hour
  releaseSmall();
  await waitFor(() => s.inspect().assets.some((a) => a.fileName === 'a-small.txt'), 10_000);
  await waitFor(() => r.state.files.get('m', 'a-small.txt')?.sha256, 10_000, () => 'a-small.txt is on the server but its outcome is not recorded (clock stepped back)');
  expect(s.inspect().assets).toHaveLength(1);
}, 40_000);
