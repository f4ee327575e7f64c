/**
 * Scenario 8 of issue 6: names and shapes a share really holds. Each case ends
 * in the mirror check: one live asset per file, same name, same bytes.
 */
import { spawn } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, World } from '../support/world.js';
import { FAST_RETRY, FULL, mirror } from '../support/reliability.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const NFC = 'caf\u00e9.txt';
const NFD = 'cafe\u0301.txt';

describe('names and shapes', () => {
  it('odd names: zero bytes, 255-byte name, spaces, emoji, NFC and NFD side by side, % # ? + " \\ and control characters', {
    timeout: 120_000,
  }, async () => {
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    const names = [
      'empty.txt',
      `${'n'.repeat(251)}.txt`, // 255 bytes, the ext4 limit
      `${'é'.repeat(125)}.txt`, // 254 bytes in UTF-8, 129 characters
      'with  two  spaces .txt',
      ' leading space.txt',
      'emoji 🎨🖼️.png',
      NFC,
      NFD,
      '100% sure.txt',
      'issue #42.txt',
      'what?.txt',
      'a+b=c.txt',
      'quote".txt',
      "apostrophe's.txt",
      'back\\slash.txt',
      'semi;colon&amp.txt',
      'new\nline.txt',
      'tab\there.txt',
      '.hidden',
      '...',
      'no-extension',
      'UPPER.TXT',
      'upper.txt', // differs only in case from the one above: two assets (Squidex compares names case-insensitively on rename only)
      '中文文件名.pdf',
      'folder %#?+/inner #1.txt',
      'folder with spaces/and ünïcödé/file.txt',
    ];
    for (const n of names) w.write(n, n === 'empty.txt' ? '' : `content of ${n}`);
    const res = await w.run(['once'], 60_000);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    const r = mirror(w);
    expect(r.files).toBe(names.length);
    const byName = new Set(w.inspect().assets.map((a) => a.fileName));
    expect(byName.has(NFC) && byName.has(NFD)).toBe(true);
  });

  it(`shapes: ${FULL ? '10,000' : '1,000'} files in one folder and a tree 40 levels deep`, {
    timeout: FULL ? 600_000 : 120_000,
  }, async () => {
    world = await World.create({ sync: { ...FAST_RETRY, concurrency: 8 } });
    const w = world;
    const many = FULL ? 10_000 : 1000;
    for (let i = 0; i < many; i++) w.write(`flat/f${String(i).padStart(5, '0')}.txt`, `f${i}`);
    const deep = Array.from({ length: 40 }, (_, i) => `level${i}`).join('/');
    w.write(`${deep}/bottom.txt`, 'forty folders down');
    w.write('level0/level1/middle.txt', 'two down');
    const res = await w.run(['once'], FULL ? 580_000 : 110_000);
    expect(res.code, res.stdout.slice(-2000) + res.stderr).toBe(0);
    expect(mirror(w).files).toBe(many + 2);
  });

  it('a file larger than the server limit fails at once with a clear message and is not retried forever', { timeout: 60_000 }, async () => {
    // Without tus (a Squidex older than 6.6): with it, the file would go in pieces below the limit.
    world = await World.create({ server: { maxUploadBytes: 256 * 1024, tus: false }, sync: { ...FAST_RETRY } });
    const w = world;
    w.write('ok.txt', 'fits');
    w.write('too-big.bin', Buffer.alloc(300 * 1024, 3));
    const res = await w.run(['once'], 50_000);
    expect(res.code).toBe(1);
    expect(res.stdout + res.stderr).toMatch(/too-big\.bin/);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout);
    expect(status.failed).toHaveLength(1);
    expect(status.failed[0].error).toMatch(/too large|maxSize|limit/i);
    // Refused is final: one or two requests for it, not maxAttempts (50) of them.
    const uploads = w.inspect().counters.byRoute['POST /assets/{id}'] ?? 0;
    expect(uploads).toBeLessThanOrEqual(3);
    // A second run does not try it again either (it waits for a change or `retry`).
    expect((await w.run(['once'], 50_000)).code).toBe(1);
    expect(w.inspect().counters.byRoute['POST /assets/{id}'] ?? 0).toBe(uploads);
    mirror(w, { expectMissing: ['too-big.bin'] });
  });

  const bigBytes = FULL ? 2 * 1024 ** 3 : 256 * 1024 ** 2;
  it(`a ${FULL ? '2 GiB' : '256 MiB'} file uploads with flat memory (peak RSS reported)`, {
    timeout: FULL ? 600_000 : 120_000,
  }, async () => {
    world = await World.create({ server: { maxUploadBytes: 4 * 1024 ** 3, keepBytes: false }, sync: { ...FAST_RETRY } });
    const w = world;
    // Sparse: no disk cost, but every byte is still read, hashed and sent.
    const abs = w.write('huge.bin', 'start');
    const fd = openSync(abs, 'r+');
    ftruncateSync(fd, bigBytes);
    closeSync(fd);
    const child = spawn(process.execPath, [CLI, 'once', '--config', w.configPath], { env: w.env(), cwd: w.dir, stdio: 'ignore' });
    w.procs.add(child);
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited between two polls
      }
    }, 100);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearInterval(poll);
    w.procs.delete(child);
    expect(code).toBe(0);
    const asset = w.inspect().assets.find((a) => a.fileName === 'huge.bin')!;
    expect(asset.fileSize).toBe(bigBytes);
    console.log(`big file: ${bigBytes / 1024 ** 2} MiB, peak RSS (VmHWM) of squidex-sync once ${Math.round(peakKb / 1024)} MiB`);
    // Flat: far below the file size (the process alone is ~80 MiB).
    expect(peakKb * 1024).toBeLessThan(300 * 1024 ** 2);
    expect(peakKb).toBeGreaterThan(0);
    // keepBytes: false stores no bytes, so compare by the hash the server computed.
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    const zero = Buffer.alloc(1024 * 1024);
    h.update('start');
    let left = bigBytes - 5;
    h.update(zero.subarray(0, 1024 * 1024 - 5)); // rest of the first MiB
    left -= 1024 * 1024 - 5;
    for (let i = 0; i < 4096 && left > 0; i++, left -= zero.length) h.update(zero.subarray(0, Math.min(zero.length, left)));
    expect(asset.sha256).toBe(h.digest('hex'));
    void join;
  });
});

describe('names Squidex refuses', () => {
  it('a blank file name and a blank folder name fail at once with a message naming them; the rest syncs', { timeout: 60_000 }, async () => {
    // Squidex: "File name is not defined." for a whitespace-only upload name, and
    // "Folder name is required." for a whitespace-only folder (reference §2, §9).
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    w.write('fine.txt', 'ok');
    w.write('   ', 'a file named three spaces');
    w.write(' /inside.txt', 'in a folder named one space');
    const res = await w.run(['once'], 50_000);
    expect(res.code).toBe(1);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout);
    const failed = status.failed.map((f: { path: string; error: string; attempts: number }) => [f.path, f.attempts, f.error]);
    expect(failed.map((f: unknown[]) => f[0]).sort()).toEqual(['   ', ' /inside.txt']);
    for (const f of status.failed) expect(f.attempts).toBe(1);
    expect(res.stdout).toMatch(/File name is not defined/);
    expect(res.stdout).toMatch(/create folder " ".*Folder name is required/);
    mirror(w, { expectMissing: ['   ', ' /inside.txt'] });
  });
});

describe('names that are not UTF-8', () => {
  // Issue 18 §5. Linux allows any bytes in a name; old SMB shares hold Latin-1 ones. Read
  // as strings they came back with U+FFFD, a path that does not exist: every rescan logged
  // "cannot read … ENOENT" for them and `once` exited 1 saying a folder could not be read.
  it('are skipped with the reason, listed by status, and never hide the rest of their folder', { timeout: 60_000 }, async () => {
    world = await World.create({ sync: { ...FAST_RETRY } });
    const w = world;
    const raw = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p as string)));
    w.write('top.txt', 'fine');
    w.write('mixed/good.txt', 'good');
    writeFileSync(raw(w.local, '/mixed/caf', [0xe9], '.txt'), 'a Latin-1 name');
    mkdirSync(raw(w.local, '/d', [0xff]));
    writeFileSync(raw(w.local, '/d', [0xff], '/inner.txt'), 'under a folder whose name is not UTF-8');

    const res = await w.run(['once'], 50_000);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/2 entries are not synced .*squidex-sync status/);
    expect(res.stdout + res.stderr).not.toMatch(/cannot read|could not be read/);
    expect(mirror(w).files).toBe(2);
    expect(
      w
        .inspect()
        .assets.map((a) => a.fileName)
        .sort(),
    ).toEqual(['good.txt', 'top.txt']);

    const status = JSON.parse((await w.run(['status', '--json'])).stdout);
    expect(status.skipped).toEqual([
      { mapping: 'share', path: 'd\\xFF', reason: expect.stringMatching(/not valid UTF-8.*rename it/) },
      { mapping: 'share', path: 'mixed/caf\\xE9.txt', reason: expect.stringMatching(/not valid UTF-8.*rename it/) },
    ]);
    const text = (await w.run(['status'])).stdout;
    expect(text).toMatch(/skipped[^\n]*not UTF-8[^\n]*\n {2}share: d\\xFF \(the name is not valid UTF-8/);

    // Renamed to UTF-8, it syncs, and the list empties.
    renameSync(raw(w.local, '/mixed/caf', [0xe9], '.txt'), join(w.local, 'mixed/caf\u00e9.txt'));
    rmSync(raw(w.local, '/d', [0xff]), { recursive: true });
    expect((await w.run(['once'], 50_000)).code).toBe(0);
    expect(mirror(w).files).toBe(3);
    expect(JSON.parse((await w.run(['status', '--json'])).stdout).skipped).toEqual([]);
  });
});
