/**
 * Scenario 7 of issue 6: files that misbehave. Changed, truncated or deleted
 * while their bytes are on the wire; a file replaced by a folder; a file the
 * daemon may not read; symlinks (never followed: a loop, a link out of the
 * mapping); a FIFO and a socket in the tree.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, World, type RunResult } from '../support/world.js';
import { FAST_RETRY, mirror, sleep, waitMirror } from '../support/reliability.js';
import { missing } from '../support/capability.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('files that misbehave', () => {
  it('changed, truncated and deleted while being uploaded: the server ends with what is on disk, never a stale or partial copy', {
    timeout: 120_000,
  }, async () => {
    // 1 MB/s makes each 3 MB upload take seconds, so the changes below land mid-body.
    world = await World.create({ sync: { ...FAST_RETRY }, extra: { upload: { maxBytesPerSecond: '1MB' } } });
    const w = world;
    const original = Buffer.alloc(3 * 1024 * 1024, 7);
    w.write('changed.bin', original);
    w.write('truncated.bin', original);
    w.write('deleted.bin', original);
    const d = w.startDaemon();
    await d.waitForLog((l) => l.msg === 'squidex-sync is running');
    await sleep(1500);
    w.write('changed.bin', Buffer.alloc(3 * 1024 * 1024, 9)); // same size, new bytes
    truncateSync(join(w.local, 'truncated.bin'), 1000);
    w.rm('deleted.bin');
    await waitMirror(w, 90_000, { allowExtra: true }, d);
    expect(await d.stop()).toBe(0);
    mirror(w, { allowExtra: true });
    // deletes: keep may leave the asset of deleted.bin, but only ever with whole content.
    const del = w.inspect().assets.filter((a) => a.fileName === 'deleted.bin' && !a.deleted);
    for (const a of del) expect(a.sha256).toBe(sha(original));
    const extra = w.inspect().assets.filter((a) => !a.deleted && a.fileName !== 'deleted.bin');
    expect(extra).toHaveLength(2);
    console.log(
      `mid-upload changes: ${w.inspect().counters.uploads} uploads for 3 files (a re-upload per file that changed under its upload)`,
    );
  });

  it('a file replaced by a folder of the same name', { timeout: 60_000 }, async () => {
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    w.write('thing', 'a file called thing');
    expect((await w.run(['once'])).code).toBe(0);
    w.rm('thing');
    w.write('thing/inside.txt', 'now thing is a folder');
    const res = await w.run(['once']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    // deletes: keep: the old asset `thing` stays on the server, beside the new folder `thing`.
    mirror(w, { allowExtra: true });
  });

  it('symlinks (a loop, one out of the mapping, one to a folder), a FIFO and a socket are skipped, never followed', {
    timeout: 60_000,
  }, async () => {
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    w.write('real.txt', 'a real file');
    const outside = join(w.dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'not in the share');
    symlinkSync(join(outside, 'secret.txt'), join(w.local, 'link-out.txt'));
    symlinkSync(outside, join(w.local, 'link-out-dir'));
    symlinkSync('loop-b', join(w.local, 'loop-a'));
    symlinkSync('loop-a', join(w.local, 'loop-b'));
    mkdirSync(join(w.local, 'sub'));
    symlinkSync('..', join(w.local, 'sub', 'up')); // a folder loop
    execFileSync('mkfifo', [join(w.local, 'pipe')]);
    // A socket file outlives its (python) process; node would unlink it on close.
    execFileSync('python3', ['-c', `import socket; s=socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(join(w.local, 'sock'))})`]);
    expect(existsSync(join(w.local, 'sock'))).toBe(true);
    const res = await w.run(['once'], 30_000);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const names = w.inspect().assets.map((a) => a.fileName);
    expect(names).toEqual(['real.txt']);
    mirror(w);
  });
});

describe('a file the daemon may not read', () => {
  // Tests run as root, which reads any file whatever its mode: run the CLI as
  // `nobody` (setpriv) so permission bits mean something.
  const canDrop = (() => {
    try {
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
      return process.getuid?.() === 0;
    } catch {
      return false;
    }
  })();

  function runAs(w: World, args: string[]): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args, '--config', w.configPath],
        { env: w.env(), cwd: w.dir },
      );
      w.procs.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (b) => (stdout += b));
      child.stderr.on('data', (b) => (stderr += b));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${args.join(' ')} as nobody did not finish\n${stdout}\n${stderr}`));
      }, 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        w.procs.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it.skipIf(missing(!canDrop, 'setpriv (util-linux) as root, to make a folder unreadable to the daemon'))(
    'fails that one file with "permission denied", syncs the rest, and takes it once readable and retried',
    { timeout: 90_000 },
    async () => {
      world = await World.create({ sync: { ...FAST_RETRY } });
      const w = world;
      w.write('readable.txt', 'anyone may read this');
      w.write('locked.txt', 'root only');
      w.write('locked-dir/inner.txt', 'in a folder nobody may list');
      mkdirSync(join(w.dir, 'state'), { recursive: true });
      chmodSync(w.dir, 0o755);
      for (const p of [join(w.dir, 'state'), w.local, join(w.local, 'readable.txt')]) chownSync(p, 65534, 65534);
      chmodSync(join(w.local, 'locked.txt'), 0o600);
      chmodSync(join(w.local, 'locked-dir'), 0o700);
      const res = await runAs(w, ['once']);
      expect(res.code, res.stdout + res.stderr).toBe(1);
      expect(res.stdout + res.stderr).toMatch(/locked\.txt/);
      const status = JSON.parse((await runAs(w, ['status', '--json'])).stdout);
      expect(status.failed.map((f: { path: string }) => f.path)).toContain('locked.txt');
      expect(status.failed.find((f: { path: string }) => f.path === 'locked.txt').error).toMatch(/permission denied/i);
      mirror(w, { expectMissing: ['locked.txt', 'locked-dir/inner.txt'] });

      chmodSync(join(w.local, 'locked.txt'), 0o644);
      await runAs(w, ['retry']);
      // The folder nobody may list still makes the run "not all in sync", and says so.
      const partly = await runAs(w, ['once']);
      expect(partly.code, partly.stdout.slice(-1500)).toBe(1);
      expect(partly.stdout).toMatch(/1 folder or file could not be read/);
      mirror(w, { expectMissing: ['locked-dir/inner.txt'] });
      chmodSync(join(w.local, 'locked-dir'), 0o755);
      const again = await runAs(w, ['once']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      mirror(w);
      rmSync(join(w.local, 'locked-dir'), { recursive: true });
    },
  );

  it.skipIf(missing(!canDrop, 'setpriv (util-linux) as root, to make a folder unreadable to the daemon'))(
    'with deletes: delete, a folder that became unreadable is not taken for deleted',
    { timeout: 90_000 },
    async () => {
      world = await World.create({ sync: { ...FAST_RETRY }, mapping: { deletes: 'delete' } });
      const w = world;
      for (let i = 0; i < 3; i++) w.write(`open/f${i}.txt`, `open ${i}`);
      w.write('closing/kept.txt', 'must survive a chmod');
      mkdirSync(join(w.dir, 'state'), { recursive: true });
      chmodSync(w.dir, 0o755);
      for (const p of [join(w.dir, 'state'), w.local, join(w.local, 'open'), join(w.local, 'closing')]) chownSync(p, 65534, 65534);
      expect((await runAs(w, ['once'])).code).toBe(0);
      chownSync(join(w.local, 'closing'), 0, 0);
      chmodSync(join(w.local, 'closing'), 0o700);
      const res = await runAs(w, ['once']);
      const live = w
        .inspect()
        .assets.filter((a) => !a.deleted)
        .map((a) => a.fileName);
      expect(live, res.stdout.slice(-1500)).toContain('kept.txt');
      // Not "all in sync": something could not be read.
      expect(res.code, res.stdout.slice(-1500)).toBe(1);
      chmodSync(join(w.local, 'closing'), 0o755);
      mirror(w);
    },
  );
});
