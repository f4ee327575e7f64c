import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SquidexClient, isReferencedError } from '../../src/squidex/index.js';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { endpoint, freePort, waitForAsync } from '../support/service.js';
import { liveAssetsByPath, uploadRequests, World } from '../support/world.js';

let world: World | undefined;
let server: TestServer | undefined;
afterEach(async () => {
  await world?.close();
  await server?.close();
  world = server = undefined;
});

const P = 'Design/Shared';
const deleteRequests = (w: World): number => w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0;

interface Kept {
  mapping: string;
  path: string;
  assetId: string;
}

async function synced(w: World, files: Record<string, string>): Promise<Map<string, string>> {
  for (const [p, c] of Object.entries(files)) w.write(p, c);
  expect((await w.run(['once'])).code).toBe(0);
  return new Map([...liveAssetsByPath(w.inspect())].map(([k, a]) => [k.slice(P.length + 1), a.id]));
}

describe('deletes ask Squidex whether content still uses the asset', () => {
  it('keeps and lists a referenced asset while an unreferenced one in the same run is deleted', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    const ids = await synced(w, {
      'hero.jpg': 'used on the home page',
      'old.jpg': 'used nowhere',
      'a.txt': '1',
      'b.txt': '2',
      'c.txt': '3',
    });
    w.server.setReferenced([ids.get('hero.jpg')!]);
    w.rm('hero.jpg');
    w.rm('old.jpg');
    const run = await w.run(['once']);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/kept: still used by content\s+1/);

    const live = liveAssetsByPath(w.inspect());
    expect(live.get(`${P}/hero.jpg`)?.id).toBe(ids.get('hero.jpg'));
    expect(live.has(`${P}/old.jpg`)).toBe(false);
    expect(w.inspect().assets.find((a) => a.id === ids.get('old.jpg'))?.deleted).toBe(true);

    const json = JSON.parse((await w.run(['status', '--json'])).stdout) as {
      stillUsed: Kept[];
      kept: Kept[];
      mappings: Array<{ stillUsed: number }>;
    };
    expect(json.stillUsed).toEqual([expect.objectContaining({ mapping: 'share', path: 'hero.jpg', assetId: ids.get('hero.jpg') })]);
    expect(json.kept).toEqual([]);
    expect(json.mappings[0].stillUsed).toBe(1);
    const text = (await w.run(['status'])).stdout;
    expect(text).toContain('kept: still used by content');
    expect(text).toMatch(new RegExp(`share: hero\\.jpg\\n\\s+asset ${ids.get('hero.jpg')}`));

    // Each full rescan asks once more; once nothing uses it, it goes.
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(deleteRequests(w)).toBe(1);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/hero.jpg`)).toBe(true);
    w.server.setReferenced([ids.get('hero.jpg')!], false);
    expect((await w.run(['once'])).code).toBe(0);
    expect(liveAssetsByPath(w.inspect()).has(`${P}/hero.jpg`)).toBe(false);
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).stillUsed).toEqual([]);
  });

  it('under permanentDeletes too; a file put back re-adopts its asset, nothing uploaded', async () => {
    world = await World.create({ mapping: { deletes: 'delete', permanentDeletes: true } });
    const w = world;
    const ids = await synced(w, { 'logo.png': 'the logo', 'x.txt': 'x', 'y.txt': 'y' });
    w.server.setReferenced([ids.get('logo.png')!]);
    w.rm('logo.png');
    expect((await w.run(['once'])).code).toBe(0);
    expect(w.inspect().assets.find((a) => a.id === ids.get('logo.png'))?.deleted).toBe(false);

    w.server.resetCounters();
    w.write('logo.png', 'the logo');
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploadRequests(w)).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get(`${P}/logo.png`)?.id).toBe(ids.get('logo.png'));
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).stillUsed).toEqual([]);
  });

  it('the daemon does not retry a refused delete in a loop: it asks again at each full rescan, and /status lists it', async () => {
    const port = await freePort();
    world = await World.create({ mapping: { deletes: 'delete', rescanInterval: '2s' }, extra: { http: { port } } });
    const w = world;
    const ids = await synced(w, { 'used.jpg': 'used', 'k1.txt': '1', 'k2.txt': '2' });
    const id = ids.get('used.jpg')!;
    w.server.setReferenced([id]);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    w.server.resetCounters();
    const rescansBefore = d.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('rescan:')).length;
    w.rm('used.jpg');
    const refused = await d.waitForLog((l) => l.action === 'referenced');
    expect(String(refused.msg)).toContain(id);
    const ep = endpoint(port, w.statePath);
    const report = (await waitForAsync(async () => {
      const r = (await ep.status()) as { stillUsed: Kept[] };
      return r.stillUsed.length === 1 && r;
    })) as { stillUsed: Kept[] };
    expect(report.stillUsed[0]).toMatchObject({ path: 'used.jpg', assetId: id });
    // The local page lists it too.
    const token = readFileSync(join(dirname(w.statePath), 'web-token'), 'utf8').trim();
    const overview = (await (await fetch(`${ep.base}/api/overview`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      stillUsed: Kept[];
    };
    expect(overview.stillUsed).toEqual([expect.objectContaining({ path: 'used.jpg', assetId: id })]);

    // Two more full rescans: two more questions, never more than one per rescan.
    const rescans = (): number => d.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('rescan:')).length - rescansBefore;
    const seen = rescans();
    await waitForAsync(async () => rescans() >= seen + 2, 20_000);
    await new Promise((r) => setTimeout(r, 300)); // the last rescan's job runs
    expect(deleteRequests(w)).toBeGreaterThanOrEqual(2);
    expect(deleteRequests(w)).toBeLessThanOrEqual(1 + rescans());
    // Said once in the log, not at every rescan.
    expect(d.lines.filter((l) => l.action === 'referenced' && l.level === 40)).toHaveLength(1);

    w.server.setReferenced([id], false);
    await waitForAsync(async () => ((await ep.status()) as { stillUsed: Kept[] }).stillUsed.length === 0, 20_000);
    expect(w.inspect().assets.find((a) => a.id === id)?.deleted).toBe(true);
    expect(await d.stop()).toBe(0);
  });
});

describe('the client and the test server', () => {
  it('single deletes send checkReferrers; bulk Delete jobs are refused per job for a referenced asset', async () => {
    server = await startTestServer();
    const client = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret });
    try {
      const up = async (name: string) =>
        (
          await client.upsertAsset(crypto.randomUUID(), '00000000-0000-0000-0000-000000000000', {
            path: name,
            fileName: name,
            bytes: { data: Buffer.from(name), sha256: '' },
          })
        ).asset.id;
      const used = await up('used.txt');
      const free = await up('free.txt');
      server.setReferenced([used]);
      const err = await client.deleteAsset(used, { permanent: true }).catch((e: unknown) => e);
      expect(isReferencedError(err)).toBe(true);
      const results = await client.bulk([
        { id: used, type: 'Delete' },
        { id: free, type: 'Delete' },
      ]);
      expect(results[0].error).toMatchObject({ statusCode: 400, errorCode: 'OBJECT_REFERENCED' });
      expect(results[1].error).toBeUndefined();
      const byId = new Map(server.inspect().assets.map((a) => [a.id, a]));
      expect(byId.get(used)?.deleted).toBe(false);
      expect(byId.get(free)?.deleted).toBe(true);
    } finally {
      await client.close();
    }
  });
});
