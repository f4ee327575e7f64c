/**
 * Issue 18 §4: what a daemon keeps in memory for months must be bounded. The
 * adoption cache (listings of asset folders), and the "changed during upload" counts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/lib/clock.js';
import { ROOT_FOLDER_ID, type AssetDto, type SquidexClient } from '../../src/squidex/index.js';
import { AdoptionIndex } from '../../src/worker/adopt.js';
import { META_PATH, META_SHA } from '../../src/worker/mapping.js';
import { rig, type Rig } from '../support/regressions.js';

function asset(parentId: string, i: number, extra: Partial<AssetDto> = {}): AssetDto {
  return {
    id: `${parentId}-${i}`,
    parentId,
    fileName: `f${i}.png`,
    fileHash: `hash${i}`,
    slug: `f${i}.png`,
    mimeType: 'image/png',
    fileSize: 100 + i,
    fileVersion: 0,
    version: 3,
    metadata: { pixelWidth: 640, description: 'x'.repeat(200), [META_PATH]: `M/f${i}.png`, [META_SHA]: `sha${i}` },
    tags: ['a', 'b'],
    ...extra,
  };
}

/** A client whose folders hold `perFolder` assets each; counts the listings it was asked for. */
function lister(perFolder: number): { client: Pick<SquidexClient, 'findAssets'>; listed: string[] } {
  const listed: string[] = [];
  const client: Pick<SquidexClient, 'findAssets'> = {
    async findAssets(q) {
      listed.push(q.parentId!);
      return Array.from({ length: perFolder }, (_, i) => asset(q.parentId!, i));
    },
  };
  return { client, listed };
}

const digest = (i: number) => ({ sha256: `sha${i}`, size: 100 + i });
const none = () => false;

describe('AdoptionIndex stays bounded', () => {
  it('keeps only what matching needs of each asset', async () => {
    const { client } = lister(3);
    const index = new AdoptionIndex(client, new FakeClock());
    const found = await index.find({ parentId: 'p', remoteFile: 'M/f1.png', fileName: 'f1.png', digest: digest(1) }, none);
    expect(found).toEqual({
      sameContent: true,
      asset: { id: 'p-1', parentId: 'p', fileName: 'f1.png', fileHash: 'hash1', version: 3, stampedPath: 'M/f1.png', stampedSha: 'sha1' },
    });
  });

  it('drops expired listings, not only refreshes them when asked again', async () => {
    const clock = new FakeClock();
    const { client } = lister(10);
    const index = new AdoptionIndex(client, clock, { ttlMs: 1000 });
    for (let f = 0; f < 5; f++) await index.mayMatch(`old${f}`, 'M/x', 'x');
    expect(index.cached).toEqual({ folders: 5, assets: 50 });
    clock.advance(1000);
    await index.mayMatch('new', 'M/x', 'x');
    expect(index.cached).toEqual({ folders: 1, assets: 10 });
  });

  it('caps folders and assets, the oldest listings going first', async () => {
    const clock = new FakeClock();
    const { client, listed } = lister(100);
    const index = new AdoptionIndex(client, clock, { maxFolders: 4, maxAssets: 250 });
    for (let f = 0; f < 20; f++) {
      await index.mayMatch(`f${f}`, 'M/x', 'x');
      clock.advance(1);
      expect(index.cached.folders).toBeLessThanOrEqual(4);
      expect(index.cached.assets).toBeLessThanOrEqual(250);
    }
    expect(index.cached).toEqual({ folders: 2, assets: 200 });
    // The newest is still cached, an evicted one is listed again.
    await index.mayMatch('f19', 'M/x', 'x');
    await index.mayMatch('f0', 'M/x', 'x');
    expect(listed.filter((p) => p === 'f19')).toHaveLength(1);
    expect(listed.filter((p) => p === 'f0')).toHaveLength(2);
  });

  it('counts empty folders we created against the folder cap', () => {
    const index = new AdoptionIndex(lister(0).client, new FakeClock(), { maxFolders: 3 });
    for (let f = 0; f < 100; f++) index.primeEmpty(`new${f}`);
    expect(index.cached).toEqual({ folders: 3, assets: 0 });
  });
});

describe('with a real runtime', () => {
  let r: Rig | undefined;
  afterEach(async () => {
    await r?.cleanup();
    r = undefined;
  });

  it('adopting an asset another tool uploaded stamps it without losing its metadata (the listing keeps none)', async () => {
    r = await rig({ setup: (l) => writeFileSync(join(l, 'logo.png'), 'the same bytes') });
    const { rt } = r;
    // Made by the other tool too: a folder the resolver creates is known to be empty.
    const parentId = (await rt.client.createFolder('M', ROOT_FOLDER_ID)).id;
    const theirs = '5b0c7d6e-0000-4000-8000-000000000001';
    await rt.client.upsertAsset(theirs, parentId, { path: join(r.local, 'logo.png'), fileName: 'logo.png' });
    await rt.client.annotate(theirs, { metadata: { credit: 'Studio X', pixelWidth: 64 } });
    await rt.rescan(rt.config.mappings[0]);
    rt.pool.start();
    await rt.pool.idle();
    await rt.pool.stop(1000);
    expect(rt.state.files.get('m', 'logo.png')?.assetId).toBe(theirs);
    const live = r.server.inspect().assets.filter((a) => !a.deleted);
    expect(live).toHaveLength(1);
    expect(live[0].metadata).toMatchObject({ credit: 'Studio X', pixelWidth: 64, [META_PATH]: 'M/logo.png', [META_SHA]: live[0].sha256 });
  });

  it('forget the oldest paths past the cap (a path that changed and then vanished is never recorded)', async () => {
    r = await rig();
    const unstable = r.rt.ctx.unstable!;
    for (let i = 0; i < 50_000; i++) unstable.set(`m\0vanished-${i}.tmp`, 1);
    expect(unstable.size).toBeLessThanOrEqual(10_000);
    expect(unstable.get('m\0vanished-49999.tmp')).toBe(1);
    expect(unstable.has('m\0vanished-0.tmp')).toBe(false);
  });
});
