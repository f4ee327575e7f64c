import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { SquidexClient } from '../../src/squidex/index.js';
import { startTestServer, type TestServer } from '../../src/testserver/index.js';
import { Stamper } from '../../src/worker/stamps.js';
import { tempStates } from '../support/state.js';
import { getToken, ROOT } from '../support/testserver.js';

const t = tempStates();
let server: TestServer | undefined;
let client: SquidexClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
  t.cleanup();
});

async function setup(opts: { bulk?: boolean; drainLanes?: number } = {}) {
  server = await startTestServer({ bulk: opts.bulk });
  client = new SquidexClient({ url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret });
  const { state } = t.fresh();
  const clock = new FakeClock(0); // the stamps below are put at 0: just uploaded
  const lanes = opts.drainLanes;
  const stamper = new Stamper({ state, client, clock, logger: silentLogger }, lanes ? { drainLanes: () => lanes } : {});
  return { server, client, state, clock, stamper };
}

async function asset(s: TestServer, name: string): Promise<string> {
  const token = await getToken(s);
  const body = Buffer.concat([
    Buffer.from(`--b\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n`),
    Buffer.from(name),
    Buffer.from('\r\n--b--\r\n'),
  ]);
  const res = await fetch(`${s.url}/api/apps/${s.app}/assets?parentId=${ROOT}&duplicate=true`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'multipart/form-data; boundary=b' },
  });
  return ((await res.json()) as { id: string }).id;
}

describe('metadata stamps sent in bulk', () => {
  it('sends 250 pending stamps in 3 requests and removes them once the server took them', async () => {
    const { server, state, stamper } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push(await asset(server, `f${i}.txt`));
    for (const [i, id] of ids.entries())
      state.stamps.put(id, { metadata: { squidexSyncSha256: `sha${i}`, squidexSyncPath: `f${i}.txt` } }, 0);
    server.resetCounters();
    expect(await stamper.drain()).toBe(true);
    expect(server.inspect().counters.byRoute).toEqual({ 'POST /token': 1, 'POST /assets/bulk': 3 });
    expect(state.stamps.count()).toBe(0);
    const byId = new Map(server.inspect().assets.map((a) => [a.id, a]));
    expect(ids.every((id, i) => byId.get(id)?.metadata.squidexSyncSha256 === `sha${i}`)).toBe(true);
  });

  it('a drain sends its batches at once, up to its lanes, with every stamp of an asset in the same batch', async () => {
    const { server, state, stamper } = await setup({ drainLanes: 4 });
    const ids: string[] = [];
    for (let i = 0; i < 350; i++) ids.push(await asset(server, `f${i}.txt`));
    // The first asset is stamped again after 150 others: its newer stamp must not race its older one.
    state.stamps.put(ids[0], { metadata: { squidexSyncSha256: 'old', squidexSyncPath: 'f0.txt' } }, 0);
    for (const [i, id] of ids.entries()) {
      if (i === 150) state.stamps.put(ids[0], { metadata: { squidexSyncSha256: 'new', squidexSyncPath: 'f0.txt' } }, 0);
      if (i > 0) state.stamps.put(id, { metadata: { squidexSyncSha256: `sha${i}`, squidexSyncPath: `f${i}.txt` } }, 0);
    }
    const jobs: number[] = [];
    const real = client!.bulk.bind(client);
    client!.bulk = async (j) => {
      jobs.push(j.length);
      return real(j);
    };
    server.setFaults({ latencyMs: 50 }); // long enough for the four to meet at the server
    server.resetCounters();
    expect(await stamper.drain()).toBe(true);
    const c = server.inspect().counters;
    expect(c.byRoute['POST /assets/bulk']).toBe(4);
    expect(c.maxInFlight).toBe(4); // one round trip, not four in a row
    expect(jobs.sort((a, b) => a - b)).toEqual([50, 100, 100, 100]);
    expect(state.stamps.count()).toBe(0);
    const byId = new Map(server.inspect().assets.map((a) => [a.id, a]));
    expect(byId.get(ids[0])?.metadata.squidexSyncSha256).toBe('new');
    expect(ids.slice(1).every((id, i) => byId.get(id)?.metadata.squidexSyncSha256 === `sha${i + 1}`)).toBe(true);
  });

  it('sends no further round once the server asked everyone to wait during the one before', async () => {
    const { server, client, state, stamper, clock } = await setup();
    for (let i = 0; i < 250; i++) state.stamps.put(await asset(server, `f${i}.txt`), { metadata: { squidexSyncPath: `f${i}.txt` } }, 0);
    const real = client.bulk.bind(client);
    client.bulk = async (jobs) => {
      state.jobs.pauseAll(clock.now() + 60_000); // an upload met a 429 while this bulk was on the wire
      return real(jobs);
    };
    server.resetCounters();
    expect(await stamper.drain()).toBe(false);
    expect(server.inspect().counters.byRoute['POST /assets/bulk']).toBe(1);
    expect(state.stamps.count()).toBe(150); // the rest wait in the database
  });

  it('the gather timer leaves stamps that came during a short bulk to the next gather, not to a bulk request of their own', async () => {
    const { server, client, state, stamper } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await asset(server, `f${i}.txt`));
    for (const id of ids.slice(0, 3)) state.stamps.put(id, { metadata: { squidexSyncPath: id } }, 0);
    const real = client.bulk.bind(client);
    client.bulk = async (jobs) => {
      // Uploads finish while the bulk is on the wire (a slow server): their stamps wait for the next gather.
      for (const id of ids.slice(3)) if (!jobs.some((j) => j.id === id)) state.stamps.put(id, { metadata: { squidexSyncPath: id } }, 0);
      return real(jobs);
    };
    server.resetCounters();
    expect(await stamper.flush(false)).toBe(true);
    expect(server.inspect().counters.byRoute['POST /assets/bulk']).toBe(1);
    expect(state.stamps.count()).toBe(2);
    stamper.stop();
    // A drain (once's end, a shutdown) sends everything.
    expect(await stamper.drain()).toBe(true);
    expect(state.stamps.count()).toBe(0);
  });

  it('a stamp sent long after its upload keeps metadata edited on the server meanwhile', async () => {
    const { server, client, state, stamper, clock } = await setup();
    const edited = await asset(server, 'edited.txt');
    const deleted = await asset(server, 'deleted.txt');
    const fresh = await asset(server, 'fresh.txt');
    // Written at the upload (the server's metadata then, plus ours), sent only a minute later.
    const ours = (name: string) => ({ metadata: { pixelWidth: 1, squidexSyncSha256: `sha-${name}`, squidexSyncPath: name } });
    state.stamps.put(edited, ours('edited.txt'), clock.now());
    state.stamps.put(deleted, ours('deleted.txt'), clock.now());
    clock.advance(60_000);
    state.stamps.put(fresh, ours('fresh.txt'), clock.now());
    await client.annotate(edited, { metadata: { pixelWidth: 1, caption: 'written by an editor' } });
    await client.annotate(fresh, { metadata: { caption: 'a moment ago' } });
    await client.deleteAsset(deleted, { permanent: true });
    expect(await stamper.drain()).toBe(true);
    expect(state.stamps.count()).toBe(0);
    const meta = (id: string) => server.inspect().assets.find((a) => a.id === id)?.metadata;
    expect(meta(edited)).toEqual({
      pixelWidth: 1,
      caption: 'written by an editor',
      squidexSyncSha256: 'sha-edited.txt',
      squidexSyncPath: 'edited.txt',
    });
    // A stamp that leaves right after its upload is sent as written (the upload's answer is that recent).
    expect(meta(fresh)).toEqual(ours('fresh.txt').metadata);
    expect(server.inspect().assets.some((a) => a.id === deleted)).toBe(false);
  });

  it('drops the stamp of an asset deleted meanwhile, and keeps the rest when the server is down', async () => {
    const { server, state, stamper, clock } = await setup();
    const kept = await asset(server, 'a.txt');
    state.stamps.put('00000000-0000-0000-0000-00000000dead', { metadata: { x: '1' } }, 0);
    state.stamps.put(kept, { metadata: { squidexSyncPath: 'a.txt' } }, 0);
    server.setFaults({ down: true });
    expect(await stamper.drain()).toBe(false);
    expect(state.stamps.count()).toBe(2); // nothing lost while the server was away
    server.setFaults({ down: false });
    expect(await stamper.drain()).toBe(false); // backing off: not before the wait is over
    clock.advance(61_000);
    expect(await stamper.drain()).toBe(true);
    expect(state.stamps.count()).toBe(0);
    // A minute late, the stamp went onto the asset's metadata as it was then.
    expect(server.inspect().assets.find((a) => a.id === kept)?.metadata).toEqual({ squidexSyncPath: 'a.txt' });
  });

  it('a newer stamp for the same asset replaces the pending one; a direct annotate drops it', async () => {
    const { server, state, stamper } = await setup();
    const id = await asset(server, 'a.txt');
    state.stamps.put(id, { metadata: { v: 'old' } }, 0);
    state.stamps.put(id, { metadata: { v: 'new' } }, 0);
    expect(state.stamps.count()).toBe(1);
    await stamper.before(id);
    expect(state.stamps.count()).toBe(0);
    state.stamps.put(id, { metadata: { v: 'new' } }, 0);
    await stamper.drain();
    expect(server.inspect().assets.find((a) => a.id === id)?.metadata).toEqual({ v: 'new' });
  });

  it('falls back to one annotate per stamp when the server has no bulk endpoint', async () => {
    const { server, state, stamper } = await setup({ bulk: false });
    const a = await asset(server, 'a.txt');
    const b = await asset(server, 'b.txt');
    state.stamps.put(a, { metadata: { v: 'a' } }, 0);
    state.stamps.put(b, { metadata: { v: 'b' } }, 0);
    state.stamps.put('00000000-0000-0000-0000-00000000dead', { metadata: {} }, 0);
    server.resetCounters();
    expect(await stamper.drain()).toBe(true);
    expect(state.stamps.count()).toBe(0);
    expect(server.inspect().counters.byRoute).toMatchObject({ 'POST /assets/bulk': 1, 'PUT /assets/{id}': 3 });
    const byId = new Map(server.inspect().assets.map((x) => [x.id, x.metadata]));
    expect([byId.get(a), byId.get(b)]).toEqual([{ v: 'a' }, { v: 'b' }]);
  });
});
