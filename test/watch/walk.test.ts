import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnore, diffLean, walkMapping } from '../../src/watch/index.js';
import { missing } from '../support/capability.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const canDrop = (() => {
  try {
    execFileSync('setpriv', [...NOBODY, 'true']);
    return true;
  } catch {
    return false;
  }
})();
const WALK_DIST = pathToFileURL(path.resolve(import.meta.dirname, '../../dist/watch/index.js')).href;

const summary = (r: Awaited<ReturnType<typeof walkMapping>>) => ({
  files: [...r.entries.keys()],
  errors: r.errors.map((e) => [e.path, e.code]),
});

/** The same walk in a child process that runs as nobody (the folder must be reachable by others). */
function walkAsNobody(root: string): { files: string[]; errors: string[][] } {
  fs.chmodSync(root, 0o755);
  const code = [
    `const { compileIgnore, walkMapping } = await import(${JSON.stringify(WALK_DIST)});`,
    'const root = process.argv[1];',
    "const r = await walkMapping(root, compileIgnore({ ignore: ['drafts/**'], ignoreDefaults: true }, root));",
    'console.log(JSON.stringify({ files: [...r.entries.keys()], errors: r.errors.map((e) => [e.path, e.code]) }));',
  ].join('\n');
  const out = execFileSync('setpriv', [...NOBODY, process.execPath, '--input-type=module', '-e', code, root], { timeout: 30_000 });
  return JSON.parse(out.toString());
}

let dir: string;
const ig = () => compileIgnore({ ignore: ['drafts/**'], ignoreDefaults: true }, dir);
const write = (rel: string, data = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'walk-'));
});
afterEach(() => {
  fs.chmodSync(dir, 0o755);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('walkMapping', () => {
  it('lists regular files with size and mtime, skipping ignored files and folders', async () => {
    write('a.png', 'abc');
    write('sub/deep/b.jpg', 'hello');
    write('sub/.DS_Store');
    write('.git/config');
    write('drafts/c.png');
    const r = await walkMapping(dir, ig(), { yieldEvery: 1 });
    expect([...r.entries.keys()].sort()).toEqual(['a.png', 'sub/deep/b.jpg']);
    expect(r.entries.get('sub/deep/b.jpg')).toEqual({ size: 5, mtimeMs: fs.statSync(path.join(dir, 'sub/deep/b.jpg')).mtimeMs });
    expect(r.rootMissing).toBe(false);
    expect(r.rootEmpty).toBe(false);
    expect(r.errors).toEqual([]);
  });

  it('skips symlinks (never followed) and FIFOs, saying why', async () => {
    write('real/a.png');
    fs.symlinkSync('/', path.join(dir, 'rootlink'));
    fs.symlinkSync(path.join(dir, 'real/a.png'), path.join(dir, 'filelink.png'));
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const r = await walkMapping(dir, ig());
    expect([...r.entries.keys()]).toEqual(['real/a.png']);
    expect(r.skipped.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'filelink.png', reason: 'symlink' },
      { path: 'pipe', reason: 'fifo' },
      { path: 'rootlink', reason: 'symlink' },
    ]);
  });

  it('reports a missing root, a file as root and an empty root for the delete guard', async () => {
    const missing = await walkMapping(path.join(dir, 'nope'), ig());
    expect(missing.rootMissing).toBe(true);
    expect(missing.errors[0].code).toBe('ENOENT');
    write('file');
    expect((await walkMapping(path.join(dir, 'file'), ig())).rootMissing).toBe(true);
    fs.mkdirSync(path.join(dir, 'empty/.git'), { recursive: true });
    write('empty/Thumbs.db');
    const empty = await walkMapping(path.join(dir, 'empty'), ig());
    expect(empty).toMatchObject({ rootMissing: false, rootEmpty: true });
  });

  it.skipIf(missing(isRoot && !canDrop, 'setpriv (util-linux), to walk as nobody when run as root'))(
    'records unreadable folders instead of throwing',
    async () => {
      write('locked/a.png');
      write('ok.png');
      fs.chmodSync(path.join(dir, 'locked'), 0);
      try {
        // Root reads any folder: as root (CI), the walk runs in a child as nobody.
        const r = isRoot ? walkAsNobody(dir) : summary(await walkMapping(dir, ig()));
        expect(r.files).toEqual(['ok.png']);
        expect(r.errors).toEqual([['locked', 'EACCES']]);
      } finally {
        fs.chmodSync(path.join(dir, 'locked'), 0o755);
      }
    },
  );

  it('records entries that vanish mid-walk (ENOENT) instead of throwing', async () => {
    write('keep.png');
    write('vanish.png');
    write('vdir/a.png');
    const base = ig();
    // The matcher runs between readdir and lstat/readdir of the entry: delete it right there.
    const racing = Object.assign((rel: string, isDir: boolean) => base(rel, isDir), {
      shallow: (rel: string, isDir: boolean) => {
        if (rel === 'vanish.png' || rel === 'vdir') fs.rmSync(path.join(dir, rel), { recursive: true, force: true });
        return base.shallow(rel, isDir);
      },
    });
    const r = await walkMapping(dir, racing);
    expect([...r.entries.keys()]).toEqual(['keep.png']);
    expect(r.errors.map((e) => [e.path, e.code]).sort()).toEqual([
      ['vanish.png', 'ENOENT'],
      ['vdir', 'ENOENT'],
    ]);
    expect(r.rootMissing).toBe(false);
  });

  it('records a root that cannot be read as rootMissing', async () => {
    // As root EACCES never happens; an unreadable root is simulated with a root that is a dangling symlink.
    fs.symlinkSync(path.join(dir, 'gone'), path.join(dir, 'dangling'));
    const r = await walkMapping(path.join(dir, 'dangling'), ig());
    expect(r.rootMissing).toBe(true);
  });

  it('stops when aborted', async () => {
    for (let i = 0; i < 20; i++) write(`d${i}/f.png`);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(walkMapping(dir, ig(), { signal: ac.signal })).rejects.toThrow('stop');
  });

  it('stops inside one big folder too, between slices', async () => {
    for (let i = 0; i < 50; i++) write(`flat/f${i}.png`);
    const ac = new AbortController();
    const walking = walkMapping(dir, ig(), { yieldEvery: 5, signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(walking).rejects.toThrow('stop');
  });

  // Issue 18 §5: a name that is not UTF-8 (legal on Linux, common on old SMB shares) came
  // back with U+FFFD in it, so its lstat failed: "deleted between readdir and lstat".
  it('skips names that are not UTF-8 with the reason, and syncs the rest of their folder', async () => {
    const raw = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p as string)));
    write('mixed/good.png');
    write('mixed/real \uFFFD replacement char.png'); // valid UTF-8 that holds U+FFFD itself
    fs.writeFileSync(raw(dir, '/mixed/caf', [0xe9], '.png'), 'latin-1 name');
    fs.mkdirSync(raw(dir, '/bad', [0xff, 0xfe], ' folder'));
    fs.writeFileSync(raw(dir, '/bad', [0xff, 0xfe], ' folder/inner.png'), 'x');
    fs.writeFileSync(raw(dir, '/mixed/', [0xe2, 0x82], 'cut short \u00e9.png'), 'x'); // a truncated sequence, then a good é
    fs.writeFileSync(raw(dir, '/mixed/~$draft', [0xe9], '.docx'), 'x'); // ignored by default (~$*): not listed either
    const r = await walkMapping(dir, ig());
    expect([...r.entries.keys()].sort()).toEqual(['mixed/good.png', 'mixed/real \uFFFD replacement char.png']);
    expect(r.errors).toEqual([]);
    expect(r.skipped.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'bad\\xFF\\xFE folder', reason: 'name' },
      { path: 'mixed/\\xE2\\x82cut short \u00e9.png', reason: 'name' },
      { path: 'mixed/caf\\xE9.png', reason: 'name' },
    ]);
  });
});

describe('diffLean', () => {
  const entries = () =>
    new Map([
      ['same', { size: 1, mtimeMs: 1000.4 }],
      ['grown', { size: 2, mtimeMs: 1000 }],
      ['touched', { size: 1, mtimeMs: 2000 }],
      ['new', { size: 1, mtimeMs: 1 }],
      ['reserved', { size: 1, mtimeMs: 1 }],
      ['returned', { size: 5, mtimeMs: 7.25 }],
    ]);
  // FilesRepo.listLean's layout: path, size, mtimeMs, missingSince; '' is NULL.
  const flat = [
    'same',
    '1',
    '1000',
    '',
    'grown',
    '1',
    '1000',
    '',
    'touched',
    '1',
    '1000',
    '',
    'reserved',
    '',
    '',
    '',
    'deleted',
    '1',
    '1',
    '',
    'returned',
    '5',
    '7.25',
    '1700000000000',
  ];

  it('finds new, changed and gone paths, tolerating mtimes stored as whole ms, and names missing rows that are back', () => {
    const d = diffLean(entries(), flat);
    expect(d.changed.sort()).toEqual(['grown', 'new', 'reserved', 'touched']);
    expect(d.gone).toEqual(['deleted']);
    expect(d.back).toEqual(['returned']);
    expect(d.rows).toBe(6);
  });

  it('finds nothing over an unchanged tree, and everything gone over an empty walk', () => {
    const same = new Map([['a', { size: 3, mtimeMs: 1795764663217.4307 }]]);
    expect(diffLean(same, ['a', '3', '1795764663217.4307', ''])).toEqual({ changed: [], gone: [], back: [], rows: 1 });
    expect(diffLean(new Map(), flat).gone).toHaveLength(6);
  });
});
