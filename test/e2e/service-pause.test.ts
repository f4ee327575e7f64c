import { afterEach, describe, expect, it } from 'vitest';
import { endpoint, freePort, waitForAsync } from '../support/service.js';
import { liveAssetsByPath, waitFor, World } from '../support/world.js';

/**
 * `pause [MAPPING]` / `resume` against a running daemon (issue 8): uploads
 * stop while changes are still recorded, the flag survives a restart, status
 * and the squidex_sync_paused gauge follow it live, resume works off the backlog.
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

interface Report {
  mappings: Array<{ name: string; paused: boolean; pending: number }>;
  pending: Array<{ mapping: string; path: string }>;
}

/** Long enough for an unpaused daemon to have uploaded a small file several times over (stability 300 ms + debounce 100 ms). */
const QUIET_MS = 2000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('pause and resume', () => {
  it('stop uploads but record changes, survive a restart, show in status and metrics, and resume works off the backlog', async () => {
    const port = await freePort();
    world = await World.create({ extra: { http: { port } } });
    const w = world;
    const ep = endpoint(port, world!.statePath);
    const live = (rel: string) => liveAssetsByPath(w.inspect()).get(`Design/Shared/${rel}`);
    const pausedGauge = async () => (await ep.metrics()).value('squidex_sync_paused', { mapping: 'share' });
    const status = async () => JSON.parse((await w.run(['status', '--json'])).stdout) as Report;

    w.write('before.txt', 'synced before the pause');
    let d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await waitFor(
      () => live('before.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );
    expect(await pausedGauge()).toBe(0);

    const paused = await w.run(['pause', 'share']);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('paused share');
    // The gauge follows the flag while the daemon runs, not only at its start.
    await waitForAsync(async () => (await pausedGauge()) === 1);
    expect(((await ep.status()) as unknown as Report).mappings[0].paused).toBe(true);
    expect((await w.run(['status'])).stdout).toMatch(/^share\s.*\bpaused$/m);

    w.write('while-paused.txt', 'written while paused');
    w.write('before.txt', 'changed while paused');
    // Recorded: both show as pending …
    await waitForAsync(
      async () => {
        const r = await status();
        const paths = r.pending.map((p) => p.path).sort();
        return paths.join(',') === 'before.txt,while-paused.txt';
      },
      20_000,
      () => d.stdout.slice(-2000),
    );
    // … and not uploaded, however long we wait.
    await sleep(QUIET_MS);
    expect(live('while-paused.txt')).toBeUndefined();
    const uploadsWhilePaused = w.inspect().counters.uploads;

    // The flag lives in the state file: a restarted daemon is still paused.
    expect(await d.stop()).toBe(0);
    d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    expect(await pausedGauge()).toBe(1);
    const afterRestart = await status();
    expect(afterRestart.mappings[0]).toMatchObject({ name: 'share', paused: true, pending: 2 });
    await sleep(QUIET_MS);
    expect(live('while-paused.txt')).toBeUndefined();
    expect(w.inspect().counters.uploads).toBe(uploadsWhilePaused);

    const resumed = await w.run(['resume']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resumed all mappings');
    await waitFor(
      () => live('while-paused.txt'),
      20_000,
      () => d.stdout.slice(-2000),
    );
    await waitFor(() => live('before.txt')?.fileSize === 'changed while paused'.length, 20_000);
    await waitForAsync(async () => (await pausedGauge()) === 0);
    await waitForAsync(async () => {
      const r = await status();
      return !r.mappings[0].paused && r.mappings[0].pending === 0 && r.pending.length === 0;
    });

    // "All" and one mapping are separate flags; resuming the one lifts "all" for it.
    expect((await w.run(['pause'])).stdout).toContain('paused all mappings');
    await waitForAsync(async () => (await pausedGauge()) === 1);
    expect((await w.run(['resume', 'share'])).code).toBe(0);
    await waitForAsync(async () => (await pausedGauge()) === 0);

    expect(await d.stop()).toBe(0);
  });

  it('rejects an unknown mapping name with the list of names', async () => {
    world = await World.create();
    const res = await world.run(['pause', 'nope']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('No mapping named "nope". Mappings: share.');
  });
});
