/**
 * Scenario 6 of issue 6: the disk of the state database fills up. A real ENOSPC
 * from a tiny tmpfs (root can mount one here), not an injected error: SQLite,
 * its WAL and the daemon meet the same failure a full disk gives them.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';
import { FAST_RETRY, FULL, mirror, sleep, waitMirror } from '../support/reliability.js';
import { missing } from '../support/capability.js';

let world: World | undefined;
let mounted: string | undefined;
afterEach(async () => {
  for (const p of world?.procs ?? []) p.kill('SIGKILL');
  if (mounted) execFileSync('umount', ['-l', mounted]);
  mounted = undefined;
  await world?.close();
  world = undefined;
});

/** Mounts a tmpfs of `size` at dir; the reason it could not, or undefined. */
function mountTmpfs(dir: string, size: string): string | undefined {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount -t tmpfs failed (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): needs root or CAP_SYS_ADMIN`;
  }
}

/** Fills the file system of dir completely (bounded by its size); returns the ballast path. */
function fill(dir: string): string {
  const ballast = join(dir, 'ballast');
  const fd = openSync(ballast, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let i = 0; i < 100_000; i++) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // The last partial blocks too.
  const small = openSync(ballast, 'a');
  try {
    for (let i = 0; i < 10_000; i++) writeSync(small, Buffer.alloc(512, 1));
  } catch {
    // full now
  } finally {
    closeSync(small);
  }
  return ballast;
}

describe('state database disk full', () => {
  it('reports it clearly, corrupts nothing, and resumes by itself when space returns', { timeout: 120_000 }, async (t) => {
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    const stateDir = join(w.dir, 'state');
    const why = mountTmpfs(stateDir, '16m');
    if (missing(why !== undefined, `a tmpfs mount (${why})`)) {
      console.log(`skipped: ${why}`);
      t.skip();
      return;
    }
    mounted = stateDir;
    for (let i = 0; i < 20; i++) w.write(`before/f-${i}.txt`, `before ${i}`);
    const d = w.startDaemon();
    await waitMirror(w, 30_000, {}, d);

    const ballast = fill(stateDir);
    const files = FULL ? 2000 : 300;
    // Long paths make every row and WAL frame bigger, so the full disk is hit at once.
    for (let i = 0; i < files; i++)
      w.write(`during/${'long-folder-name-'.repeat(4)}${i % 10}/file-with-a-long-name-${i}.txt`, `during ${i}`);
    const full = await d.waitForLog(
      (l) => String(l.code ?? '').includes('STATE_FULL') || /disk full|SQLITE_FULL|ENOSPC/i.test(String(l.msg)),
      30_000,
    );
    expect(String(full.msg)).toMatch(/disk full|no space/i);
    // A while on a full disk: it must neither spin nor die.
    await sleep(2000);
    const alive = d.child.exitCode === null;

    rmSync(ballast);
    let d2 = d;
    if (!alive) {
      // It exited (a service manager restarts it); the exit must have said why.
      expect(d.stderr + d.stdout).toMatch(/disk full|no space/i);
      d2 = w.startDaemon();
    }
    console.log(`disk full: daemon ${alive ? 'kept running and resumed' : `exited with ${d.child.exitCode} and was restarted`}`);
    await waitMirror(w, 60_000, {}, d2);
    expect(await d2.stop()).toBe(0);
    expect(mirror(w).files).toBe(20 + files);
    expect(alive).toBe(true);
  });
});
