import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  classifyWatchError,
  compileIgnore,
  startWatcher,
  type WatchBackend,
  type WatchEvent,
  type Watcher,
  type WatchKind,
} from '../../src/watch/index.js';
import type { SyncError } from '../../src/lib/errors.js';
import { requireBuild } from '../support/world.js';
import { missing } from '../support/capability.js';

const execFileP = promisify(execFile);

interface Seen {
  rel: string;
  kind: WatchKind;
  size?: number;
}

let dir: string;
let watchers: Watcher[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 25 ms, at most `maxMs`; bounded in count and time. */
async function waitFor(pred: () => boolean, maxMs = 10_000): Promise<void> {
  for (let i = 0; i < maxMs / 25 && !pred(); i++) await sleep(25);
  expect(pred()).toBe(true);
}

const canLowerInotifyLimits = (() => {
  try {
    return (
      process.platform === 'linux' &&
      execFileSync('unshare', ['-Ur', 'sh', '-c', 'echo 4 > /proc/sys/user/max_inotify_watches && echo ok']).toString().trim() === 'ok'
    );
  } catch {
    return false;
  }
})();

/** Runs test/fixtures/watch-limited.mjs on `dir` with one inotify limit lowered; what it saw. */
async function watchLimited(
  limit: string,
  value: number,
): Promise<{ seen: Seen[]; errors: Array<{ code: string; retry: string; message: string; hint?: string }> }> {
  requireBuild();
  const fixture = path.join(import.meta.dirname, '../fixtures', 'watch-limited.mjs');
  const script = `echo ${value} > /proc/sys/user/${limit} && exec "$0" "$1" "$2"`;
  const { stdout } = await execFileP('unshare', ['-Ur', 'sh', '-c', script, process.execPath, fixture, dir], {
    timeout: 30_000,
    killSignal: 'SIGKILL',
  });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

async function watch(mode: 'events' | 'poll', stabilityMs = 200, ignore: string[] = ['drafts/**'], backend?: WatchBackend) {
  const seen: Seen[] = [];
  const errors: SyncError[] = [];
  const w = startWatcher({
    root: dir,
    ignore: compileIgnore({ ignore, ignoreDefaults: true }, dir),
    mode,
    stabilityMs,
    pollIntervalMs: 100,
    backend,
    onPath: (rel, kind, stat) => seen.push({ rel, kind, size: stat?.size }),
    onError: (e) => errors.push(e),
  });
  watchers.push(w);
  await w.ready;
  return {
    w,
    seen,
    errors,
    has: (rel: string, kind: WatchKind) => seen.some((s) => s.rel === rel && s.kind === kind),
    count: (rel: string, kind: WatchKind) => seen.filter((s) => s.rel === rel && s.kind === kind).length,
  };
}

const write = (rel: string, data: string | Buffer = 'x') => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), data);
};

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(watchers.map((w) => w.close()));
  watchers = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(['events', 'poll'] as const)('startWatcher (%s mode)', (mode) => {
  it('does not report files that exist at start, reports a new file once it is stable', async () => {
    write('old.png');
    const t = await watch(mode);
    write('sub/new.png', 'hello');
    await waitFor(() => t.has('sub/new.png', 'add'));
    expect(t.seen.filter((s) => s.rel === 'sub/new.png')).toEqual([{ rel: 'sub/new.png', kind: 'add', size: 5 }]);
    expect(t.seen.some((s) => s.rel === 'old.png')).toBe(false);
    expect(t.errors).toEqual([]);
  });

  it('reports a change and an unlink', async () => {
    write('a.png', '1');
    write('b.png', '1');
    const t = await watch(mode);
    write('a.png', '22');
    fs.rmSync(path.join(dir, 'b.png'));
    await waitFor(() => t.has('a.png', 'change') && t.has('b.png', 'unlink'));
    expect(t.seen.find((s) => s.rel === 'a.png')?.size).toBe(2);
  });

  it('applies ignore rules to events', async () => {
    const t = await watch(mode);
    write('.DS_Store');
    write('x/report.tmp');
    write('drafts/a.png');
    write('.git/objects/a');
    write('x/~$doc.docx');
    write('sentinel.png');
    await waitFor(() => t.has('sentinel.png', 'add'));
    await sleep(300);
    expect(t.seen.map((s) => s.rel).filter((r) => r !== 'x' && r !== 'drafts' && r !== '.git')).toEqual(['sentinel.png']);
    expect(t.seen.some((s) => s.rel.startsWith('drafts/') || s.rel.startsWith('.git'))).toBe(false);
  });

  it('reports a file written in chunks exactly once, after the last chunk, with the final size', async () => {
    // Chunks 150 ms apart against a 1500 ms window: even a 10× stalled timer on a busy machine
    // leaves the file never quiet for a whole window while it is written.
    const t = await watch(mode, 1500);
    const fd = fs.openSync(path.join(dir, 'big.psd'), 'w');
    const chunk = Buffer.alloc(64 * 1024, 7);
    try {
      for (let i = 0; i < 16; i++) {
        fs.writeSync(fd, chunk);
        await sleep(150);
        expect(t.seen.filter((s) => s.rel === 'big.psd')).toEqual([]);
      }
    } finally {
      fs.closeSync(fd);
    }
    await waitFor(() => t.has('big.psd', 'add'));
    await sleep(1600);
    expect(t.seen.filter((s) => s.rel === 'big.psd')).toEqual([{ rel: 'big.psd', kind: 'add', size: 16 * 64 * 1024 }]);
  });
});

describe('startWatcher (poll mode) folders', () => {
  it('reports each file of a removed folder as unlink, and files of a new folder as add', async () => {
    write('old/a.png');
    write('old/deep/b.png');
    const t = await watch('poll');
    fs.rmSync(path.join(dir, 'old'), { recursive: true });
    write('fresh/c.png');
    await waitFor(() => t.has('old/a.png', 'unlink') && t.has('old/deep/b.png', 'unlink') && t.has('fresh/c.png', 'add'));
  });
});

describe('startWatcher (events mode) folders', () => {
  it('reports a new folder and every file in it, also for a folder moved in from outside', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'watch-out-'));
    try {
      fs.mkdirSync(path.join(outside, 'batch/inner'), { recursive: true });
      fs.writeFileSync(path.join(outside, 'batch/one.png'), '1');
      fs.writeFileSync(path.join(outside, 'batch/inner/two.png'), '22');
      const t = await watch('events');
      write('made/here.png');
      fs.renameSync(path.join(outside, 'batch'), path.join(dir, 'batch'));
      await waitFor(() => t.has('made/here.png', 'add') && t.has('batch/one.png', 'add') && t.has('batch/inner/two.png', 'add'));
      expect(t.has('made', 'addDir')).toBe(true);
      expect(t.has('batch', 'addDir')).toBe(true);
      // A folder that brings subfolders is reported again once they are watched too (Linux: a new subscription).
      await waitFor(() => t.count('batch', 'addDir') === 2);
      // The moved-in folder is watched too, down to its subfolders.
      write('batch/inner/three.png');
      await waitFor(() => t.has('batch/inner/three.png', 'add'));
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reports unlinkDir for a removed folder, and stops watching it', async () => {
    write('gone/a.png');
    write('gone/deeper/b.png');
    const t = await watch('events');
    fs.rmSync(path.join(dir, 'gone'), { recursive: true });
    await waitFor(() => t.has('gone', 'unlinkDir'));
    await sleep(200);
    // The folder's own watch sees its removal too; that must not turn into a bogus path.
    expect(t.seen.some((s) => s.rel.startsWith('gone/gone'))).toBe(false);
    expect(t.errors).toEqual([]);
  });

  it('follows a folder renamed inside the tree', async () => {
    write('old/a.png');
    const t = await watch('events');
    fs.renameSync(path.join(dir, 'old'), path.join(dir, 'new'));
    await waitFor(() => t.has('old', 'unlinkDir') && t.has('new', 'addDir') && t.has('new/a.png', 'add'));
    write('new/b.png');
    await waitFor(() => t.has('new/b.png', 'add'));
    expect(t.seen.some((s) => s.rel === 'old/b.png')).toBe(false);
  });

  it('follows the subfolders of a renamed folder under their new path', async () => {
    write('old/deep/er/a.png');
    const t = await watch('events');
    fs.renameSync(path.join(dir, 'old'), path.join(dir, 'new'));
    await waitFor(() => t.has('old', 'unlinkDir') && t.count('new', 'addDir') === 2);
    write('new/deep/er/b.png');
    write('new/deep/c.png');
    await waitFor(() => t.has('new/deep/er/b.png', 'add') && t.has('new/deep/c.png', 'add'));
    await sleep(300);
    expect(t.seen.filter((s) => s.rel.startsWith('old/'))).toEqual([]);
    expect(t.errors).toEqual([]);
  });

  it('watches every level of a folder tree made at once (mkdir -p)', async () => {
    const t = await watch('events');
    fs.mkdirSync(path.join(dir, 'p/q/r/s'), { recursive: true });
    await waitFor(() => t.count('p', 'addDir') === 2);
    write('p/q/r/s/deepest.png');
    write('p/q/mid.png');
    await waitFor(() => t.has('p/q/r/s/deepest.png', 'add') && t.has('p/q/mid.png', 'add'));
  });

  it('never reports symlinks or FIFOs', async () => {
    const t = await watch('events');
    fs.symlinkSync('/', path.join(dir, 'rootlink'));
    fs.symlinkSync('/etc/hostname', path.join(dir, 'link.png'));
    write('sentinel.png');
    await waitFor(() => t.has('sentinel.png', 'add'));
    await sleep(300);
    expect(t.seen.map((s) => s.rel)).toEqual(['sentinel.png']);
  });

  it('reports an atomic save (temp file renamed over the target) as one hint for the target', async () => {
    write('doc.png', 'v1');
    const t = await watch('events');
    write('doc.png.tmp', 'v2-longer');
    fs.renameSync(path.join(dir, 'doc.png.tmp'), path.join(dir, 'doc.png'));
    await waitFor(() => t.seen.some((s) => s.rel === 'doc.png'));
    await sleep(400);
    expect(t.seen.filter((s) => s.rel.startsWith('doc'))).toEqual([{ rel: 'doc.png', kind: 'add', size: 9 }]);
  });

  it('reports the mapping folder disappearing as WATCH_FAILED, without throwing', async () => {
    write('a.png');
    const t = await watch('events');
    fs.rmSync(dir, { recursive: true });
    await waitFor(() => t.errors.length > 0);
    expect(t.errors[0].code).toBe('WATCH_FAILED');
    fs.mkdirSync(dir); // for afterEach
  });

  it('close() is safe while the first scan is still running and twice', async () => {
    for (let i = 0; i < 50; i++) write(`d${i}/f.png`);
    const w = startWatcher({
      root: dir,
      ignore: compileIgnore({ ignore: [], ignoreDefaults: true }, dir),
      mode: 'events',
      stabilityMs: 100,
      onPath: () => {},
      onError: () => {},
    });
    await w.close();
    await w.close();
  });
});

describe('startWatcher failures', () => {
  // The limits are lowered in a user namespace of the test's own (Linux keeps inotify limits per
  // user namespace), so the real kernel refuses and nothing outside the test is touched.
  it.skipIf(missing(!canLowerInotifyLimits, 'unshare -Ur (util-linux, user namespaces), to lower the inotify limits'))(
    'reports the inotify watch limit once as WATCH_LIMIT with the fix, and never throws',
    async () => {
      for (let i = 0; i < 8; i++) write(`d${i}/a.png`);
      const r = await watchLimited('max_inotify_watches', 4);
      expect(r.errors.map((e) => [e.code, e.retry])).toEqual([['WATCH_LIMIT', 'never']]);
      expect(r.errors[0].message).toContain('ENOSPC');
      expect(r.errors[0].hint).toContain('fs.inotify.max_user_watches=524288');
      // Nothing is watched then: the caller's periodic rescans take over.
      expect(r.seen).toEqual([]);
    },
  );

  it.skipIf(missing(!canLowerInotifyLimits, 'unshare -Ur (util-linux, user namespaces), to lower the inotify limits'))(
    'reports no inotify instance left as WATCH_LIMIT instead of hanging',
    async () => {
      write('d/a.png');
      const r = await watchLimited('max_inotify_instances', 0);
      expect(r.errors.map((e) => e.code)).toEqual(['WATCH_LIMIT']);
      expect(r.errors[0].hint).toContain('max_user_instances');
    },
  );

  it('events: a watch that dies is reported once as WATCH_FAILED for good, and never thrown', async () => {
    // A stand-in for the native watcher: its callback's error ends the subscription (as @parcel/watcher's does).
    let deliver: ((err: Error | null, events: WatchEvent[]) => void) | undefined;
    let unsubscribed = 0;
    const backend: WatchBackend = {
      name: 'fake',
      async subscribe(_dir, fn) {
        deliver = fn;
        return {
          unsubscribe: async () => {
            unsubscribed += 1;
          },
        };
      },
    };
    const t = await watch('events', 200, [], backend);
    deliver!(new Error('Error reading from inotify: Input/output error'), []);
    deliver!(new Error('and again'), []);
    deliver!(null, [{ path: path.join(dir, 'late.png'), type: 'create' }]);
    write('late.png');
    await sleep(400);
    expect(t.errors.map((e) => [e.code, e.retry])).toEqual([['WATCH_FAILED', 'never']]);
    expect(t.errors[0].message).toContain('Input/output error');
    expect(t.errors[0].message).toContain('periodic rescans');
    expect(t.seen).toEqual([]);
    expect(unsubscribed).toBe(1);
  });

  it('events: watches the mapping folder again when it comes back, asking for a full walk', async () => {
    const t = await watch('events');
    fs.rmSync(dir, { recursive: true });
    await waitFor(() => t.errors.length > 0);
    fs.mkdirSync(dir);
    await waitFor(() => t.has('', 'addDir'));
    write('again.png');
    await waitFor(() => t.has('again.png', 'add'));
    expect(t.errors.map((e) => e.code)).toEqual(['WATCH_FAILED']);
  });

  it('events: a mapping folder missing at start is WATCH_FAILED, then watched once it appears', async () => {
    fs.rmSync(dir, { recursive: true });
    const t = await watch('events');
    expect(t.errors.map((e) => e.code)).toEqual(['WATCH_FAILED']);
    fs.mkdirSync(dir);
    await waitFor(() => t.has('', 'addDir'));
    write('late.png');
    await waitFor(() => t.has('late.png', 'add'));
  });

  it('poll: a vanished mapping folder is one error and no unlinks; files back in place are not reported', async () => {
    write('a.png');
    const t = await watch('poll');
    const saved = `${dir}-away`;
    fs.renameSync(dir, saved);
    await waitFor(() => t.errors.length > 0);
    await sleep(400); // several poll passes with the root missing
    fs.renameSync(saved, dir);
    write('b.png');
    await waitFor(() => t.has('b.png', 'add'));
    expect(t.errors.map((e) => e.code)).toEqual(['WATCH_FAILED']);
    expect(t.seen.filter((s) => s.rel === 'a.png')).toEqual([]);
  });
});

describe('classifyWatchError', () => {
  it('turns inotify limits into WATCH_LIMIT with the fix, anything else into WATCH_FAILED', () => {
    const limit = classifyWatchError(Object.assign(new Error('watch ENOSPC'), { code: 'ENOSPC' }), '/srv/share', 'a');
    expect(limit.code).toBe('WATCH_LIMIT');
    expect(limit.hint).toContain('sysctl fs.inotify.max_user_watches=524288');
    expect(limit.hint).toContain('/etc/sysctl.d/');
    expect(classifyWatchError(Object.assign(new Error('x'), { code: 'EMFILE' }), '/r').code).toBe('WATCH_LIMIT');
    const other = classifyWatchError(Object.assign(new Error('boom'), { code: 'EIO' }), '/r');
    expect(other.code).toBe('WATCH_FAILED');
    expect(other.message).toContain('boom');
  });
});
