import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/service.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const deletes = (w: World): number => w.inspect().counters.byRoute['DELETE /assets/{id}'] ?? 0;

interface Status {
  mappings: Array<{ guard: string | null; heldDeletes: number }>;
}

describe('confirm-deletes beside the running daemon', () => {
  it('lets the held deletions through at once; a later mass deletion is held again', async () => {
    world = await World.create({ mapping: { deletes: 'delete' }, extra: { deleteGuard: { minFiles: 3 } } });
    const w = world;
    for (let i = 0; i < 30; i++) w.write(`many/f${i}.txt`, `file ${i}`);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(
      () => liveAssetsByPath(w.inspect()).size === 30,
      20_000,
      () => d.stdout.slice(-2000),
    );
    for (let i = 0; i < 25; i++) w.rm(`many/f${i}.txt`);
    const held = await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('deletions held: 25 of 30 files'), 20_000);
    expect(held.msg).toContain('run `squidex-sync confirm-deletes share`');
    const status = async (): Promise<Status> => JSON.parse((await w.run(['status', '--json'])).stdout) as Status;
    await waitForAsync(async () => (await status()).mappings[0].heldDeletes === 25);
    const text = await w.run(['status']);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('run `squidex-sync confirm-deletes share`');
    expect(deletes(w)).toBe(0);

    // The hint's own command, while the daemon holds the state: it works, and the daemon applies it.
    const confirmed = await w.run(['confirm-deletes', 'share']);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toContain('share: confirmed 25 held deletions');
    expect(confirmed.stdout).toContain('The running daemon applies them now.');
    await waitFor(
      () => deletes(w) === 25,
      20_000,
      () => d.stdout.slice(-3000),
    );
    await waitForAsync(async () => {
      const s = await status();
      return s.mappings[0].heldDeletes === 0 && s.mappings[0].guard === null;
    });
    expect(liveAssetsByPath(w.inspect()).size).toBe(5);

    // The confirmation covered those files only: the next mass deletion is guarded again.
    for (let i = 25; i < 29; i++) w.rm(`many/f${i}.txt`);
    await d.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('deletions held: 4 of 5 files'), 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // past the move window
    expect(deletes(w)).toBe(25);
    expect(await d.stop()).toBe(0);
  });

  it("the page's Keep forgets the held files and keeps their assets, its Delete them deletes them", async () => {
    const port = await freePort();
    world = await World.create({ mapping: { deletes: 'delete' }, extra: { deleteGuard: { minFiles: 3 }, http: { port } } });
    const w = world;
    for (let i = 0; i < 8; i++) w.write(`a/f${i}.txt`, `file ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    const token = readFileSync(join(dirname(w.statePath), 'web-token'), 'utf8').trim();
    const act = (what: string): Promise<Response> =>
      fetch(`http://127.0.0.1:${port}/api/deletes/${what}`, {
        method: 'POST',
        headers: { cookie: `squidex_sync_token=${token}`, 'content-type': 'application/json', origin: `http://127.0.0.1:${port}` },
        body: JSON.stringify({ mapping: 'share' }),
      });
    // Held by the guard (not only the move window): more than half of at least 3 files.
    const held = async (n: number): Promise<void> =>
      waitForAsync(async () => {
        const m = (JSON.parse((await w.run(['status', '--json'])).stdout) as Status).mappings[0];
        return m.heldDeletes === n && (n === 0 ? m.guard === null : m.guard !== null);
      });

    for (let i = 0; i < 5; i++) w.rm(`a/f${i}.txt`);
    await held(5);
    const kept = await act('keep');
    expect(kept.status).toBe(200);
    await held(0);
    expect(deletes(w)).toBe(0);
    expect(liveAssetsByPath(w.inspect()).size).toBe(8);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout) as { kept: Array<{ path: string }> };
    expect(status.kept.map((k) => k.path).sort()).toEqual(['a/f0.txt', 'a/f1.txt', 'a/f2.txt', 'a/f3.txt', 'a/f4.txt']);

    for (let i = 5; i < 8; i++) w.rm(`a/f${i}.txt`);
    await held(3);
    expect((await act('confirm')).status).toBe(200);
    await waitFor(
      () => deletes(w) === 3,
      20_000,
      () => d.stdout.slice(-3000),
    );
    expect(await d.stop()).toBe(0);
  });

  it('refuses a missing mapping folder and says what to do instead', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    w.write('a.txt', 'a');
    expect((await w.run(['once'])).code).toBe(0);
    w.rm('');
    const r = await w.run(['confirm-deletes']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Nothing confirmed: mount the share (or put the folder back), or remove the mapping from the config.');
  });
});

/** Polls an async probe every 100 ms, at most 100 times. */
async function waitForAsync(probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met within 100 polls');
}
