import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hashFile } from '../../src/worker/hash.js';
import { openInside, pinRoot, type OpenMode } from '../../src/worker/openfile.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A mapping root with x/env in it, and an outside folder that also holds an `env`. */
function world(): { root: string; outside: string; file: string } {
  const base = mkdtempSync(join(tmpdir(), 'sqsync-openfile-'));
  dirs.push(base);
  const root = join(base, 'share');
  const outside = join(base, 'etc');
  mkdirSync(join(root, 'x'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, 'x', 'env'), 'inside bytes');
  writeFileSync(join(outside, 'env'), 'SQUIDEX_CLIENT_SECRET=hunter2');
  pinRoot(root);
  return { root, outside, file: join(root, 'x', 'env') };
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

describe.each(['direct', 'pooled'] as OpenMode[])('openInside (%s)', (mode) => {
  it('opens a regular file inside the mapping and reads its bytes from the descriptor', async () => {
    const { root, file } = world();
    const f = await openInside(root, file, lstatSync(file), mode);
    try {
      expect(await hashFile(f)).toEqual({ sha256: sha('inside bytes'), size: 12 });
    } finally {
      await f.close();
    }
  });

  it('a reader that stops early leaves the descriptor open for the next read (an upload cut off, then resumed)', async () => {
    const { root, file } = world();
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
    const f = await openInside(root, file, lstatSync(file), mode);
    try {
      for await (const piece of f.stream(0, 3 * 1024 * 1024 - 1, 1024 * 1024)) {
        expect(piece.length).toBe(1024 * 1024);
        break;
      }
      const again: Buffer[] = [];
      for await (const piece of f.stream(1024 * 1024, 1024 * 1024 + 9, 4)) again.push(piece);
      expect(Buffer.concat(again)).toEqual(Buffer.alloc(10, 7));
      expect(again.map((b) => b.length)).toEqual([4, 4, 2]);
    } finally {
      // Closed exactly once here: had the first reader closed it, this would throw EBADF (or close a reused number).
      await f.close();
    }
  });

  it('refuses a symlink put in place of the file after its lstat', async () => {
    const { root, outside, file } = world();
    const seen = lstatSync(file);
    rmSync(file);
    symlinkSync(join(outside, 'env'), file);
    await expect(openInside(root, file, seen, mode)).rejects.toMatchObject({ code: 'NOT_A_FILE' });
  });

  it('refuses a FIFO put in place of the file, without waiting for a writer', async () => {
    const { root, file } = world();
    const seen = lstatSync(file);
    renameSync(file, `${file}.old`);
    execFileSync('mkfifo', [file]);
    // Before the fix this open blocked for ever (the event loop, or a thread-pool thread).
    await expect(openInside(root, file, seen, mode)).rejects.toMatchObject({ code: 'NOT_A_FILE' });
  });

  it('refuses a file reached through a folder swapped for a symlink out of the mapping', async () => {
    const { root, outside, file } = world();
    rmSync(join(root, 'x'), { recursive: true });
    symlinkSync(outside, join(root, 'x'));
    // lstat looks at the last component only: through the link it sees the outside file as a regular file.
    const seen = lstatSync(file);
    expect(seen.isFile()).toBe(true);
    await expect(openInside(root, file, seen, mode)).rejects.toMatchObject({ code: 'OUTSIDE_MAPPING' });
  });

  it('refuses a file of a sibling folder whose name begins with the root’s', async () => {
    const { root, file } = world();
    const sibling = `${root}2`;
    mkdirSync(sibling);
    writeFileSync(join(sibling, 'env'), 'next door');
    rmSync(join(root, 'x'), { recursive: true });
    symlinkSync(sibling, join(root, 'x'));
    await expect(openInside(root, file, lstatSync(file), mode)).rejects.toMatchObject({ code: 'OUTSIDE_MAPPING' });
  });

  it('refuses files once the mapping root itself is swapped for a symlink after start', async () => {
    const { root, outside } = world();
    const base = join(root, '..');
    renameSync(root, join(base, 'share.moved'));
    mkdirSync(join(outside, 'x'));
    writeFileSync(join(outside, 'x', 'env'), 'outside');
    symlinkSync(outside, root);
    const p = join(root, 'x', 'env');
    await expect(openInside(root, p, lstatSync(p), mode)).rejects.toMatchObject({ code: 'OUTSIDE_MAPPING' });
  });

  it('accepts a root that was a symlink already when it was pinned (a share mounted elsewhere)', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sqsync-openfile-'));
    dirs.push(base);
    mkdirSync(join(base, 'real'));
    writeFileSync(join(base, 'real', 'a.txt'), 'a');
    symlinkSync(join(base, 'real'), join(base, 'link'));
    const root = join(base, 'link');
    pinRoot(root);
    const p = join(root, 'a.txt');
    const f = await openInside(root, p, lstatSync(p), mode);
    await f.close();
  });

  it('says the file was replaced when another file took the path since its lstat', async () => {
    const { root, file } = world();
    const seen = lstatSync(file);
    writeFileSync(`${file}.tmp`, 'saved by an editor');
    renameSync(`${file}.tmp`, file);
    await expect(openInside(root, file, seen, mode)).rejects.toMatchObject({ code: 'FILE_REPLACED' });
  });

  it('keeps reading the file it opened when the path is swapped for a symlink afterwards', async () => {
    const { root, outside, file } = world();
    const f = await openInside(root, file, lstatSync(file), mode);
    try {
      rmSync(file);
      symlinkSync(join(outside, 'env'), file);
      expect((await hashFile(f)).sha256).toBe(sha('inside bytes'));
    } finally {
      await f.close();
    }
  });
});
