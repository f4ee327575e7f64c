import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, uploadRequests, waitFor, World } from '../support/world.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A folder beside the share, outside every mapping, holding a secret named like a synced file. */
function outsideWith(w: World, name: string, content: Buffer | string): string {
  const dir = join(w.dir, 'etc-squidex-sync');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), content);
  return dir;
}

/**
 * Swaps a path on disk at an exact step of the client: the first folder
 * creation after `arm()`, which the worker makes between hashing a new file
 * and uploading it.
 */
function swapAtFolderCreate(): { hook: (method: string, path: string) => void; arm: (swap: () => void) => void; fired: () => boolean } {
  let pending: (() => void) | undefined;
  let fired = false;
  return {
    hook: (method, path) => {
      if (pending && method === 'POST' && path.endsWith('/assets/folders')) {
        pending();
        pending = undefined;
        fired = true;
      }
    },
    arm: (swap) => (pending = swap),
    fired: () => fired,
  };
}

describe('files that are not regular files inside the mapping', () => {
  it('a synced folder swapped for a symlink out of the share: nothing outside is read or uploaded', async () => {
    world = await World.create();
    const w = world;
    w.write('x/env', 'inside bytes');
    const first = await w.run(['once']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const before = liveAssetsByPath(w.inspect()).get('Design/Shared/x/env')!;
    expect(before.sha256).toBe(sha('inside bytes'));
    const uploads = uploadRequests(w);

    const outside = outsideWith(w, 'env', 'SQUIDEX_CLIENT_SECRET=hunter2');
    rmSync(join(w.local, 'x'), { recursive: true });
    symlinkSync(outside, join(w.local, 'x'));
    const second = await w.run(['once']);
    // The share now looks empty (the link is skipped): the guard holds the deletion, and once says so with exit 1.
    expect(second.code, second.stdout + second.stderr).toBe(1);
    expect(second.stdout).toContain('deletions held because');

    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/x/env')!;
    expect(asset.id).toBe(before.id);
    expect(asset.sha256).toBe(sha('inside bytes'));
    expect(uploadRequests(w)).toBe(uploads);
    expect(second.stdout + second.stderr).not.toContain('hunter2');

    const status = await w.run(['status', '--json']);
    const report = JSON.parse(status.stdout) as { skipped: Array<{ path: string; reason: string }> };
    expect(report.skipped).toEqual(
      expect.arrayContaining([
        { mapping: 'share', path: 'x', reason: expect.stringContaining('symlink') },
        { mapping: 'share', path: 'x/env', reason: 'outside the mapping' },
      ]),
    );
    const text = await w.run(['status']);
    expect(text.stdout).toContain('not a regular file inside the mapping');
  });

  it('a new file swapped for a symlink between its hash and its upload: the bytes sent are the ones hashed', async () => {
    const swap = swapAtFolderCreate();
    world = await World.create({ server: { onRequest: swap.hook } });
    const w = world;
    w.write('first.txt', 'creates the mapped folders');
    expect((await w.run(['once'])).code).toBe(0);

    const inside = Buffer.alloc(2 * 1024 * 1024, 'i'); // over 1 MiB: hashed, then streamed from disk
    const file = w.write('new/big.psd', inside);
    const outside = outsideWith(w, 'big.psd', Buffer.alloc(inside.length, 's'));
    swap.arm(() => {
      rmSync(file);
      symlinkSync(join(outside, 'big.psd'), file);
    });
    const r = await w.run(['once'], 30_000);
    expect(swap.fired()).toBe(true);
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/new/big.psd');
    // Either the file's own bytes went out (read from the descriptor that was hashed) or nothing did; never the target's.
    if (asset) expect(asset.sha256).toBe(sha(inside));
    expect(w.inspect().assets.some((a) => a.sha256 === sha(Buffer.alloc(inside.length, 's')))).toBe(false);
    expect(r.code, r.stdout + r.stderr).not.toBe(3);
  });

  it('a big new file swapped for a FIFO before its upload: nothing hangs, the file’s own bytes go out', async () => {
    const swap = swapAtFolderCreate();
    world = await World.create({ server: { onRequest: swap.hook, maxUploadBytes: 64 * 1024 * 1024 } });
    const w = world;
    w.write('first.txt', 'creates the mapped folders');
    expect((await w.run(['once'])).code).toBe(0);

    const inside = Buffer.alloc(9 * 1024 * 1024, 'v'); // 8 MiB and more: uploaded without hashing first
    const file = w.write('new/clip.mov', inside);
    swap.arm(() => {
      renameSync(file, `${file}.old`);
      execFileSync('mkfifo', [file]);
    });
    // Before the fix, the upload opened the path again and blocked on the FIFO for ever.
    const r = await w.run(['once'], 30_000);
    expect(swap.fired()).toBe(true);
    expect(r.code, r.stdout + r.stderr).not.toBe(3);
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/new/clip.mov');
    if (asset) expect(asset.sha256).toBe(sha(inside));
  });

  it('a synced file swapped for a FIFO while the daemon runs: skipped and listed, other files go on, stop is prompt', async () => {
    world = await World.create();
    const w = world;
    const file = w.write('a.txt', 'first');
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/a.txt'));

    rmSync(file);
    execFileSync('mkfifo', [file]);
    w.write('b.txt', 'written after the FIFO');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/b.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );
    expect(await d.stop('SIGTERM')).toBe(0);
    // Whether the watcher reported the FIFO or not, the next full look lists it, and reads nothing from it.
    const once = await w.run(['once'], 30_000);
    expect(once.code, once.stdout + once.stderr).toBe(0);
    const report = JSON.parse((await w.run(['status', '--json'])).stdout) as { skipped: Array<{ path: string; reason: string }> };
    expect(report.skipped).toContainEqual({ mapping: 'share', path: 'a.txt', reason: 'a FIFO' });
  });
});
