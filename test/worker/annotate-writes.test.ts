import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { collectStatus } from '../../src/cli/status.js';
import { parseConfig } from '../../src/config/index.js';
import { FakeClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { SquidexClient } from '../../src/squidex/index.js';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { reannotate } from '../../src/worker/annotate.js';
import { immediate } from '../../src/worker/context.js';
import { Stamper } from '../../src/worker/stamps.js';
import { rig, type Rig } from '../support/regressions.js';
import { tempStates } from '../support/state.js';
import { getToken } from '../support/testserver.js';

const FX = join(import.meta.dirname, '../fixtures/metadata');
let r: Rig | undefined;
let server: TestServer | undefined;
const t = tempStates();
afterEach(async () => {
  await r?.rt.pool.stop(1000).catch(() => undefined);
  await r?.cleanup();
  await server?.close();
  r = server = undefined;
  t.cleanup();
});

/**
 * An editor who adds a tag the moment before squidex-sync's next annotate of
 * an asset reaches the server: that annotate carries a version that is now
 * stale. Armed per asset id; fires once.
 */
function editorRace(): { armed: Set<string>; hook: (method: string, path: string) => Promise<void>; serverOf: { s?: TestServer } } {
  const armed = new Set<string>();
  const serverOf: { s?: TestServer } = {};
  const hook = async (method: string, path: string): Promise<void> => {
    const id = /\/assets\/([0-9a-f-]{36})$/.exec(path)?.[1];
    if (method !== 'PUT' || !id || !armed.delete(id)) return;
    const s = serverOf.s!;
    const current = s.inspect().assets.find((a) => a.id === id)!;
    const res = await fetch(`${s.url}/api/apps/${s.app}/assets/${id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${await getToken(s)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags: [...current.tags, 'editor-pick'], metadata: { ...current.metadata, alt: 'from an editor' } }),
    });
    if (res.status !== 200) throw new Error(`editor annotate answered ${res.status}`);
  };
  return { armed, hook, serverOf };
}

describe('writes carry the asset version; a 412 reads the asset again and merges again', () => {
  it('a sidecar re-annotation that races an editor keeps both the editor’s edit and the new keywords', async () => {
    const race = editorRace();
    r = await rig({
      server: { onRequest: race.hook },
      setup: (l) => {
        copyFileSync(join(FX, 'shoot.cr2'), join(l, 'shoot.cr2'));
        copyFileSync(join(FX, 'shoot.xmp'), join(l, 'shoot.xmp'));
      },
    });
    race.serverOf.s = r.server;
    const mapping = r.rt.config.mappings[0];
    await r.rt.rescan(mapping);
    r.rt.pool.start();
    await r.rt.pool.idle();
    const row = r.rt.state.files.get('m', 'shoot.cr2')!;

    writeFileSync(join(r.local, 'shoot.xmp'), readFileSync(join(FX, 'shoot.xmp'), 'utf8').replace('portrait', 'headshot'));
    r.server.resetCounters();
    race.armed.add(row.assetId);
    expect(await reannotate(mapping, row, immediate(r.rt.ctx))).toBe(true);
    const a = r.server.inspect().assets.find((x) => x.id === row.assetId)!;
    expect(a.tags).toEqual(['type/cr2', 'studio', 'editor-pick', 'headshot']);
    expect(a.metadata).toMatchObject({ alt: 'from an editor', title: 'Studio portrait' });
    // Our PUT refused once (412), the asset read again, the merge sent again.
    expect(r.server.inspect().counters.byRoute).toMatchObject({ 'PUT /assets/{id}': 3, 'GET /assets/{id}': 2 });
    expect(r.rt.state.annotations.applied(row.assetId).tags).toEqual(['studio', 'headshot']);
  });

  it('a stamp refused with 412 is merged again with the asset as it is, then sent (one annotate per stamp)', async () => {
    const race = editorRace();
    r = await rig({
      server: { bulk: false, onRequest: race.hook },
      setup: (l) => copyFileSync(join(FX, 'layers.psd'), join(l, 'layers.psd')),
    });
    race.serverOf.s = r.server;
    const mapping = r.rt.config.mappings[0];
    // The editor strikes between the upload and its stamp: arm on the upload's own id once it is known.
    const client = r.rt.client as unknown as { upsertAsset: (id: string, ...rest: unknown[]) => Promise<unknown> };
    const upsert = client.upsertAsset.bind(client);
    client.upsertAsset = async (id, ...rest) => {
      const out = await upsert(id, ...rest);
      race.armed.add(id);
      return out;
    };
    await r.rt.rescan(mapping);
    r.rt.pool.start();
    await r.rt.pool.idle();
    const a = r.server.inspect().assets[0];
    expect(a.tags).toEqual(['type/psd', 'editor-pick', 'poster', 'draft']);
    expect(a.metadata).toMatchObject({ alt: 'from an editor', title: 'Poster draft', squidexSyncPath: 'M/layers.psd' });
    expect(r.rt.state.stamps.count()).toBe(0);
  });
});

describe('what the file said is never lost with its stamp', () => {
  it('a direct write that supersedes a pending stamp (a move right after the upload) keeps the stamp’s record of the file', async () => {
    const { state } = t.fresh();
    server = await startTestServer();
    const client = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret });
    try {
      const stamper = new Stamper({ state, client, clock: new FakeClock(0), logger: silentLogger });
      state.stamps.put('A1', { metadata: {}, source: { keywords: ['old'] } }, 0);
      state.stamps.put('A1', { metadata: {}, source: { keywords: ['new'], title: 'T' } }, 0);
      await stamper.before('A1');
      expect(state.stamps.count()).toBe(0);
      expect(state.annotations.get('A1')?.source).toEqual({ keywords: ['new'], title: 'T' });
    } finally {
      await client.close();
    }
  });
});

describe('a write given up', () => {
  it('is listed by status with its path; the file itself stays in sync', async () => {
    server = await startTestServer();
    const client = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret });
    try {
      const { state } = t.fresh();
      const clock = new FakeClock(0);
      const stamper = new Stamper({ state, client, clock, logger: silentLogger });
      const id = (
        await client.upsertAsset(crypto.randomUUID(), '00000000-0000-0000-0000-000000000000', {
          path: 'hero.jpg',
          fileName: 'hero.jpg',
          bytes: { data: Buffer.from('x'), sha256: '' },
        })
      ).asset.id;
      state.files.recordSynced({
        mapping: 'm',
        path: 'a/hero.jpg',
        size: 1,
        mtimeMs: 1,
        sha256: 'x',
        assetId: id,
        parentId: null,
        version: 0,
        syncedAt: 0,
        missingSince: null,
      });
      const plan = { want: { tags: ['summer'], metadata: {} }, had: { tags: [], metadata: {} }, fresh: true };
      state.stamps.put(id, { metadata: {}, tags: ['summer'], plan, owned: plan.want }, 0);
      client.bulk = async (jobs) =>
        jobs.map((j, jobIndex) => ({ jobIndex, id: j.id, error: { statusCode: 400, message: 'Tag is too long.' } }));
      for (let i = 0; i < 5; i++) {
        await stamper.drain();
        clock.advance(120_000);
      }
      expect(state.stamps.count()).toBe(0);
      const dir = t.dir();
      const yaml = `squidex: { url: '${server.url}', app: demo, clientId: 'demo:sync', clientSecret: x }\nstate: ./none.db\nmappings: [{ local: ./m, remote: M, name: m }]\n`;
      const config = parseConfig(yaml, { file: join(dir, 'sync.yaml'), env: {}, checkPaths: false });
      expect(collectStatus(state, config).annotationsFailed).toEqual([
        { mapping: 'm', path: 'a/hero.jpg', assetId: id, error: expect.stringContaining('Tag is too long.') },
      ]);
    } finally {
      await client.close();
    }
  });
});
