import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { direct, fileAccessFor, pooled, readSmall, type FileAccess } from '../../src/worker/localfs.js';
import { openInside, type OpenFile } from '../../src/worker/openfile.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function file(content: Buffer): string {
  const d = mkdtempSync(join(tmpdir(), 'sqsync-localfs-'));
  dirs.push(d);
  writeFileSync(join(d, 'f.bin'), content);
  return join(d, 'f.bin');
}
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Opens the way the worker does: lstat, then openInside the file's own folder as the mapping root. */
async function opened(io: FileAccess, p: string): Promise<OpenFile> {
  return openInside(dirname(p), p, await io.lstat(p), io.mode);
}

describe.each([
  ['direct (local disk)', direct],
  ['pooled (shares)', pooled],
] as const)('readSmall, %s', (_name, io) => {
  it('reads the whole file once and hashes exactly those bytes', async () => {
    const content = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const p = file(content);
    const f = await opened(io, p);
    const r = await readSmall(f, content.length);
    await f.close();
    expect(r.size).toBe(content.length);
    expect(r.data.equals(content)).toBe(true);
    expect(r.sha256).toBe(sha(content));
    expect((await io.lstat(p)).size).toBe(content.length);
  });

  it('reports another size when the file grew or shrank since its stat', async () => {
    const p = file(Buffer.alloc(1000, 7));
    const f = await opened(io, p);
    expect((await readSmall(f, 600)).size).toBe(601); // grew: one byte past what the stat said
    expect((await readSmall(f, 2000)).size).toBe(1000); // shrank
    await f.close();
  });

  it('fails with the file-system error for a file that is gone', async () => {
    const p = file(Buffer.alloc(10));
    const st = await io.lstat(p);
    rmSync(p);
    await expect(openInside(dirname(p), p, st, io.mode)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(io.lstat(p)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('fileAccessFor', () => {
  it.runIf(process.platform === 'linux')('reads a root that is not there yet through the pool, and looks again a few seconds later', () => {
    const d = mkdtempSync(join(tmpdir(), 'sqsync-localfs-'));
    dirs.push(d);
    const root = join(d, 'not-mounted-yet');
    expect(fileAccessFor(root, 1_000)).toBe(pooled);
    mkdirSync(root);
    expect(fileAccessFor(root, 2_000)).toBe(pooled); // still the answer of a moment ago
    expect(fileAccessFor(root, 7_000)).toBe(direct); // looked again: a local folder now
  });

  it.runIf(process.platform === 'linux')('reads a local disk directly (the mount table says what the disk is)', () => {
    const d = mkdtempSync(join(tmpdir(), 'sqsync-localfs-'));
    dirs.push(d);
    expect(fileAccessFor(d)).toBe(direct);
  });
});
