import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, World, uploadRequests } from '../support/world.js';

// Files from 8 MiB up that can be neither a move nor an adoption are uploaded
// without a hash first (one read instead of two); these check that moves and
// adoption of big files still work and that the recorded hash is the sent one.
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const BIG = randomBytes(9 * 1024 * 1024);

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const uploads = uploadRequests;

describe('big files', () => {
  it('a new big file is uploaded once, stamped with the hash of the bytes sent, and not again', async () => {
    world = await World.create({ server: { maxUploadBytes: 32 * 1024 * 1024 } });
    const w = world;
    w.write('video/big.bin', BIG);
    const first = await w.run(['once']);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/video/big.bin')!;
    expect(asset.sha256).toBe(sha(BIG));
    expect(asset.metadata).toMatchObject({ squidexSyncSha256: sha(BIG) });
    w.server.resetCounters();
    expect((await w.run(['once'])).code).toBe(0);
    expect(uploads(w)).toBe(0);
  });

  it('a renamed big file is moved, not uploaded again', async () => {
    world = await World.create({ server: { maxUploadBytes: 32 * 1024 * 1024 } });
    const w = world;
    w.write('a/big.bin', BIG);
    expect((await w.run(['once'])).code).toBe(0);
    const id = liveAssetsByPath(w.inspect()).get('Design/Shared/a/big.bin')!.id;
    mkdirSync(join(w.local, 'b'));
    renameSync(join(w.local, 'a/big.bin'), join(w.local, 'b/moved.bin'));
    w.server.resetCounters();
    const r = await w.run(['once']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(uploads(w)).toBe(0);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/b/moved.bin')?.id).toBe(id);
  });

  it('a lost state database re-adopts a big file with zero uploads', async () => {
    world = await World.create({ server: { maxUploadBytes: 32 * 1024 * 1024 } });
    const w = world;
    w.write('big.bin', BIG);
    expect((await w.run(['once'])).code).toBe(0);
    rmSync(join(w.dir, 'state'), { recursive: true, force: true });
    w.server.resetCounters();
    const r = await w.run(['once']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(uploads(w)).toBe(0);
    expect(liveAssetsByPath(w.inspect()).size).toBe(1);
  });
});
