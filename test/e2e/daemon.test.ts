import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('squidex-sync start', () => {
  it('syncs what exists at start, picks up new and changed files while running, and stops cleanly on SIGTERM', async () => {
    world = await World.create();
    const w = world;
    w.write('existing.txt', 'was here before');
    const d = w.startDaemon();
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/existing.txt'),
      20_000,
      () => d.stderr + d.stdout.slice(-2000),
    );
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');

    w.write('new/fresh.txt', 'added while running');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).get('Design/Shared/new/fresh.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );
    const id = liveAssetsByPath(w.inspect()).get('Design/Shared/new/fresh.txt')!.id;

    w.write('new/fresh.txt', 'edited while running');
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/new/fresh.txt')?.sha256 === sha('edited while running'), 20_000);
    expect(liveAssetsByPath(w.inspect()).get('Design/Shared/new/fresh.txt')!.id).toBe(id);

    expect(await d.stop('SIGTERM')).toBe(0);
    expect(d.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('uploads a file that is still being written only once it is complete', async () => {
    world = await World.create({ sync: { stabilityMs: 2500 } });
    const w = world;
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const abs = w.write('big.psd', Buffer.alloc(256 * 1024, 7));
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 250));
      appendFileSync(abs, Buffer.alloc(256 * 1024, 7));
    }
    const full = w.read('big.psd');
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/big.psd'), 20_000);
    // Let any further (wrong) upload happen before looking.
    await new Promise((r) => setTimeout(r, 1500));
    const asset = liveAssetsByPath(w.inspect()).get('Design/Shared/big.psd')!;
    expect(asset.fileSize).toBe(full.length);
    expect(asset.sha256).toBe(sha(full));
    expect(w.inspect().counters.uploads).toBe(1);
    expect(await d.stop()).toBe(0);
  });

  it('refuses a second daemon on the same state file and names the holder (after waiting out a drain)', async () => {
    // The second daemon waits shutdownTimeoutMs + 5 s for the lock before it refuses.
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 } });
    const w = world;
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const second = await w.run(['start'], 20_000);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(String(d.child.pid));
    expect(await d.stop()).toBe(0);
  });

  it('status shows files in sync and failed paths with their error; retry re-queues them', async () => {
    world = await World.create({ server: { maxUploadBytes: 1024 } });
    const w = world;
    w.write('small.txt', 'ok');
    w.write('huge.bin', Buffer.alloc(4096, 1));
    const res = await w.run(['once']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('huge.bin');
    const status = await w.run(['status', '--json']);
    const report = JSON.parse(status.stdout);
    expect(report.mappings[0].inSync).toBe(1);
    expect(report.failed).toHaveLength(1);
    expect(report.failed[0].path).toBe('huge.bin');
    expect(report.failed[0].error).toMatch(/huge\.bin/);
    expect(report.failed[0].error).toMatch(/maxSize|too large/i);
    const human = await w.run(['status']);
    expect(human.stdout).toContain('huge.bin');

    const retried = await w.run(['retry', join(w.local, 'huge.bin')]);
    expect(retried.stdout).toContain('re-queued 1');
    const after = JSON.parse((await w.run(['status', '--json'])).stdout);
    expect(after.failed).toHaveLength(0);
    expect(after.pending.map((p: { path: string }) => p.path)).toEqual(['huge.bin']);
  });
});
