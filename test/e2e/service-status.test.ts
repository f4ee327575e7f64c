import { afterEach, describe, expect, it } from 'vitest';
import { waitForAsync } from '../support/service.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

/**
 * `squidex-sync status` run beside a running daemon (issue 8): per mapping in
 * sync / pending / failed, what is uploading right now, the last errors in
 * plain words, and deletions held by the delete guard.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Report {
  daemon: { running: boolean; pid?: number };
  mappings: Array<{
    name: string;
    inSync: number;
    pending: number;
    uploading: number;
    failed: number;
    heldDeletes: number;
    guard: string | null;
  }>;
  uploadingNow: Array<{ mapping: string; path: string }>;
  failed: Array<{ path: string; error: string | null; attempts: number }>;
  stampsPending: number;
}

describe('squidex-sync status while the daemon runs', () => {
  it('shows counts, the upload in flight, and failures in plain words', async () => {
    // Uploads are held unanswered while `hold` is set: `status` sees slow.txt in
    // flight however slowly each `status` process starts on a loaded machine.
    let hold: Promise<void> | undefined;
    let release = (): void => undefined;
    let held = 0;
    const uploading = (m: string, p: string): boolean => m === 'POST' && /\/assets(\/[^/]+)?$/.test(p) && !/\/(folders|bulk)$/.test(p);
    world = await World.create({
      server: {
        maxUploadBytes: 1024,
        onRequest: (m, p) => {
          if (!hold || !uploading(m, p)) return undefined;
          held += 1;
          return hold;
        },
      },
    });
    const w = world;
    w.write('a.txt', 'in sync');
    w.write('huge.bin', Buffer.alloc(4096, 1));
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const json = async (): Promise<Report> => JSON.parse((await w.run(['status', '--json'])).stdout) as Report;
    await waitForAsync(
      async () => {
        const r = await json();
        return r.mappings[0].inSync === 1 && r.failed.length === 1;
      },
      20_000,
      () => d.stdout.slice(-2000),
    );

    hold = new Promise<void>((r) => (release = r));
    w.write('slow.txt', 'takes its time');
    const during = await waitForAsync(
      async () => {
        const r = await json();
        return r.uploadingNow.some((u) => u.path === 'slow.txt') ? r : undefined;
      },
      20_000,
      () => d.stdout.slice(-2000),
    );
    expect(during.uploadingNow).toEqual([{ mapping: 'share', path: 'slow.txt' }]);
    expect(held).toBe(1);
    expect(during.mappings[0]).toMatchObject({ uploading: 1 });
    expect(during.daemon).toEqual({ running: true, pid: d.child.pid });
    const human = await waitForAsync(async () => {
      const out = (await w.run(['status'])).stdout;
      return out.includes('uploading now or next:\n  share: slow.txt') ? out : undefined;
    }, 20_000);
    expect(human).toContain(`daemon: running (pid ${d.child.pid})`);
    hold = undefined;
    release();
    await waitFor(() => liveAssetsByPath(w.inspect()).get('Design/Shared/slow.txt'), 20_000);

    const done = await waitForAsync(async () => {
      const r = await json();
      return r.mappings[0].inSync === 2 && r.uploadingNow.length === 0 && r.stampsPending === 0 ? r : undefined;
    });
    expect(done.mappings[0]).toMatchObject({ name: 'share', inSync: 2, pending: 0, uploading: 0, failed: 1, heldDeletes: 0 });
    expect(done.failed[0].path).toBe('huge.bin');
    const res = await w.run(['status']);
    expect(res.code).toBe(1);
    // The error a designer reads: the file, its size, and that the server's limit is the reason.
    expect(res.stdout).toContain('failed (run `squidex-sync retry` to try again):');
    expect(res.stdout).toMatch(/share: huge\.bin\n\s+.*huge\.bin.*(larger than|too large).*\(after \d+ attempts?\)/);
    expect(res.stdout).not.toMatch(/\bundefined\b|\[object Object\]/);

    expect(await d.stop()).toBe(0);
  });

  it('shows deletions held by the delete guard, and the server keeps the assets', async () => {
    world = await World.create({ mapping: { deletes: 'delete' }, extra: { deleteGuard: { minFiles: 2, maxShare: 0.5 } } });
    const w = world;
    for (const n of ['1', '2', '3', '4']) w.write(`f${n}.txt`, `file ${n}`);
    expect((await w.run(['once'])).code).toBe(0);
    // Three of four vanish while no daemon runs (an emptied share, say).
    for (const n of ['1', '2', '3']) w.rm(`f${n}.txt`);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');

    const r = await waitForAsync(
      async () => {
        const rep = JSON.parse((await w.run(['status', '--json'])).stdout) as Report;
        return rep.mappings[0].guard && rep.mappings[0].heldDeletes === 3 ? rep : undefined;
      },
      20_000,
      () => d.stdout.slice(-2000),
    );
    expect(r.mappings[0].guard).toMatch(/3 of 4 files .* vanished at once/);
    const human = (await w.run(['status'])).stdout;
    expect(human).toMatch(/share: deletions held because 3 of 4 files/);
    expect(human).toContain('squidex-sync confirm-deletes share');
    expect([...liveAssetsByPath(w.inspect()).keys()].filter((k) => k.endsWith('.txt'))).toHaveLength(4);

    expect(await d.stop()).toBe(0);
  });
});
