import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../src/state/index.js';
import { CLI, Daemon, World, waitFor } from '../support/world.js';
import { hangs, msg, stopsCleanly } from '../support/stop.js';

/**
 * Issue 18 §4, with the daemon as a child process: a stop must not wait for a
 * running rescan (on a network share rescanned every minute, `systemctl restart`
 * outlived TimeoutStopSec and ended in SIGKILL), READY=1 must not follow a stop,
 * and a state database deleted under a running daemon must stop it (exit 1).
 */

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** `systemd-notify` on PATH that appends its arguments to a file, one call per line. */
function fakeNotify(dir: string): { env: NodeJS.ProcessEnv; calls(): string[] } {
  const bin = join(dir, 'bin');
  const log = join(dir, 'notify.log');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'systemd-notify'), '#!/bin/sh\necho "$*" >> "$FAKE_NOTIFY_LOG"\n');
  chmodSync(join(bin, 'systemd-notify'), 0o755);
  return {
    env: { PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: join(dir, 'notify.sock'), FAKE_NOTIFY_LOG: log },
    calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
}

function startDaemon(w: World, env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(process.execPath, [CLI, 'start', '--config', w.configPath], { env: { ...w.env(), ...env }, cwd: w.dir });
  w.procs.add(child);
  child.on('close', () => w.procs.delete(child));
  return new Daemon(child);
}

describe('stopping the daemon', () => {
  it('a stop during the start rescan ends the walk instead of waiting for it, and sends no READY=1', { timeout: 90_000 }, async () => {
    world = await World.create();
    const w = world;
    // Big enough that the walk outlasts the signal's way by far. Hard links of one empty
    // file: a walk costs the same per name, and they are made many times faster than files.
    const seed = join(w.dir, 'seed');
    writeFileSync(seed, '');
    for (let d = 0; d < 400; d++) {
      mkdirSync(join(w.local, `d${d}`));
      for (let f = 0; f < 100; f++) linkSync(seed, join(w.local, `d${d}`, `f${f}.txt`));
    }
    const notify = fakeNotify(w.dir);
    const daemon = startDaemon(w, notify.env);
    // The walk of 40,000 entries has begun: the stop lands inside it.
    await daemon.waitForLog((l) => msg(l) === 'rescan started', 30_000);
    const code = await daemon.stop('SIGTERM', 30_000);
    expect(code, daemon.stdout.slice(-3000) + daemon.stderr).toBe(0);
    const said = daemon.lines.map(msg);
    expect(said).toContain('rescan stopped: squidex-sync is stopping');
    expect(said.filter((m) => m.startsWith('rescan:'))).toEqual([]); // it never finished
    expect(said).not.toContain('squidex-sync is running');
    // systemd heard "stopping", never "ready" after it.
    const calls = notify.calls();
    expect(calls.some((c) => c.includes('STOPPING=1'))).toBe(true);
    expect(calls.filter((c) => c.includes('--ready'))).toEqual([]);
    // The walk queues what it finds a batch at a time (issue 21), so some files may have gone up
    // before the stop; never the whole tree of a walk that did not finish. The next start rescans.
    expect(w.inspect().counters.uploads).toBeLessThan(40_000);
  });
});

describe('the state database deleted under a running daemon', () => {
  it('is noticed, and the daemon stops with a clear error and exit 1', { timeout: 60_000 }, async () => {
    world = await World.create();
    const w = world;
    w.write('a.txt', 'hello');
    const daemon = startDaemon(w);
    await daemon.waitForLog((l) => msg(l) === 'squidex-sync is running');
    await daemon.waitForLog((l) => msg(l).startsWith('rescan:'));
    for (const suffix of ['', '-wal', '-shm']) rmSync(w.statePath + suffix, { force: true });
    const code = await Promise.race([daemon.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    expect(code, daemon.stdout.slice(-3000) + daemon.stderr).toBe(1);
    const lost = daemon.lines.find((l) => l.code === 'STATE_LOST');
    expect(lost?.level).toBe(50); // error
    expect(msg(lost!)).toMatch(/state database .*state\.db was deleted while squidex-sync ran.*Stopping \(exit 1\)/);
  });

  it('replaced by another file (a restore moved over it) is noticed too, and the new file is not marked clean', {
    timeout: 60_000,
  }, async () => {
    world = await World.create();
    const w = world;
    w.write('a.txt', 'hello');
    const daemon = startDaemon(w);
    await daemon.waitForLog((l) => msg(l) === 'squidex-sync is running');
    await daemon.waitForLog((l) => msg(l).startsWith('rescan:'));
    copyFileSync(w.statePath, `${w.statePath}.restored`);
    renameSync(`${w.statePath}.restored`, w.statePath);
    const code = await Promise.race([daemon.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    expect(code, daemon.stdout.slice(-3000) + daemon.stderr).toBe(1);
    expect(msg(daemon.lines.find((l) => l.code === 'STATE_LOST')!)).toMatch(/was replaced by another file/);
    // The integrity check at close ran on the file it had open, not on this one: the next open checks it.
    expect(existsSync(`${w.statePath}.clean`)).toBe(false);
  });
});

describe('a stop while a request nobody waits for is on the wire', () => {
  it('does not wait for Squidex to answer it: the daemon stops within its drain, not at the hard stop', {
    timeout: 60_000,
  }, async () => {
    // The drain is short, so the hard stop (drain + 10 s) comes long before the request's own timeout (60 s).
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 } });
    const w = world;
    w.write('a.txt', 'hello');
    const daemon = startDaemon(w);
    await daemon.waitForLog((l) => l.action === 'upload' && l.path === 'a.txt');
    // The upload's metadata stamp goes out a moment later, in a bulk request the
    // server reads and never answers (a server that stopped answering, or the pm2
    // test's, whose event loop is blocked by the `pm2 delete` it waits for).
    w.server.setFaults({ hangRate: 1 });
    await waitFor(
      () => w.inspect().counters.faults > 0,
      20_000,
      () => 'the stamp request never reached the server',
    );
    const said = await stopsCleanly(daemon);
    // The stamp request cut at the stop is no warning: its stamp waits in the state database.
    expect(said.filter((m) => m.startsWith('metadata stamps wait'))).toEqual([]);
  });
});

describe('a stop while a folder is being created', () => {
  it('does not wait for the folder request either: the job goes back to the queue', { timeout: 60_000 }, async () => {
    // Folder creations are read and never answered (until the server closes).
    const folders = hangs((method, path) => method === 'POST' && path.endsWith('/assets/folders'));
    folders.on = true;
    world = await World.create({ sync: { shutdownTimeoutMs: 1000 }, server: folders.server });
    const w = world;
    w.write('new/a.txt', 'hello');
    const daemon = startDaemon(w);
    await waitFor(
      () => folders.asked > 0,
      20_000,
      () => `no folder request; stdout:\n${daemon.stdout.slice(-3000)}`,
    );
    await stopsCleanly(daemon);
    // Given back untouched: still to do, not failed.
    const state = openState(w.statePath);
    try {
      expect(state.jobs.counts()).toMatchObject({ queued: 1, running: 0, failed: 0 });
    } finally {
      state.close();
    }
  });
});
