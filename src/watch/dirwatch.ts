import fs from 'node:fs';
import path from 'node:path';
import type { IgnoreMatcher } from './ignore.js';
import type { StabilityGate } from './stability.js';

export type DirKind = 'unlink' | 'addDir' | 'unlinkDir';

export interface DirWatchSink {
  gate: StabilityGate;
  /** Reported at once (removals and new folders). */
  report(rel: string, kind: DirKind): void;
  /** Raw failure of fs.watch; the caller classifies it. */
  fail(e: unknown, rel: string): void;
}

/** How often a vanished mapping folder is looked for. */
const ROOT_RETRY_MS = 2000;

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Events mode: one inotify watch per folder (Node's fs.watch on a directory
 * reports its children by name), never one per file. chokidar 5 puts an
 * fs.watch on every file (handler.js `_handleFile`), which is where its
 * ~6.6 KB per file comes from; at 100k files that alone breaks the 300 MB goal.
 * Per folder we keep only the FSWatcher, so memory scales with folders.
 *
 * An event names a child; we lstat it to learn what happened: gone → unlink or
 * unlinkDir (a folder we watch), folder → watch it and its subfolders and
 * report every file in it as add (it may have been filled before the watch was
 * set), file → hand to the stability gate.
 */
export class DirWatcher {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private closed = false;
  private rootTimer: NodeJS.Timeout | undefined;
  private readonly base: string;

  constructor(
    private readonly root: string,
    private readonly ignore: IgnoreMatcher,
    private readonly sink: DirWatchSink,
  ) {
    this.base = root.endsWith('/') ? root : root + '/';
  }

  get watchedDirs(): number {
    return this.watchers.size;
  }

  /** Watch the root and every non-ignored folder under it; files found are not reported (the start rescan covers them). */
  async start(): Promise<void> {
    let isDir = false;
    try {
      isDir = fs.statSync(this.root).isDirectory();
    } catch (e) {
      this.sink.fail(e, '');
      this.awaitRoot();
      return;
    }
    if (!isDir) {
      this.sink.fail(Object.assign(new Error(`${this.root} is not a folder`), { code: 'ENOTDIR' }), '');
      return;
    }
    await this.addTree('', false);
  }

  /**
   * The root went away (a disk unmounted, a share folder renamed): look for it now and
   * then, and when it is back watch it again and ask for a full walk (addDir of '').
   */
  private awaitRoot(): void {
    if (this.closed) return;
    this.rootTimer = setTimeout(() => {
      this.rootTimer = undefined;
      let back = false;
      try {
        back = fs.statSync(this.root).isDirectory();
      } catch {
        // still gone
      }
      if (!back) return this.awaitRoot();
      this.addTree('', false).then(
        () => this.sink.report('', 'addDir'),
        (e) => this.sink.fail(e, ''),
      );
    }, ROOT_RETRY_MS);
  }

  close(): void {
    this.closed = true;
    if (this.rootTimer) clearTimeout(this.rootTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : this.base + rel;
  }

  private watchOne(rel: string): boolean {
    if (this.closed || this.watchers.has(rel)) return false;
    let w: fs.FSWatcher;
    try {
      w = fs.watch(this.abs(rel), { persistent: true }, (event, name) => this.onEvent(rel, event, name));
    } catch (e) {
      // ENOENT/ENOTDIR: the folder went away before we got to it; its parent's event reports that.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.sink.fail(e, rel);
      return false;
    }
    w.on('error', (e) => {
      this.unwatchUnder(rel);
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EPERM') this.sink.fail(e, rel);
    });
    this.watchers.set(rel, w);
    return true;
  }

  /** Watch `rel` and its subfolders, breadth-first, yielding now and then so a big tree does not block. */
  private async addTree(rel: string, reportFiles: boolean): Promise<void> {
    const queue = [rel];
    let budget = 500;
    while (queue.length > 0 && !this.closed) {
      const dir = queue.shift()!;
      if (!this.watchOne(dir) && dir !== rel) continue;
      let dirents: fs.Dirent[];
      try {
        dirents = fs.readdirSync(this.abs(dir), { withFileTypes: true });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') this.sink.fail(e, dir);
        continue;
      }
      const prefix = dir === '' ? '' : dir + '/';
      for (const d of dirents) {
        const child = prefix + d.name;
        let isDir = d.isDirectory();
        let isFile = d.isFile();
        if (!isDir && !isFile && !d.isSymbolicLink() && !d.isFIFO() && !d.isSocket() && !d.isBlockDevice() && !d.isCharacterDevice()) {
          // DT_UNKNOWN: some file systems give no type in readdir; ask lstat.
          let st: fs.Stats | undefined;
          try {
            st = fs.lstatSync(this.abs(child), { throwIfNoEntry: false });
          } catch {
            continue; // unreadable (a folder with read but no search permission): the rescan reports it
          }
          isDir = st?.isDirectory() ?? false;
          isFile = st?.isFile() ?? false;
        }
        if (isDir) {
          if (this.ignore.shallow(child, true)) continue;
          queue.push(child);
          if (reportFiles) this.sink.report(child, 'addDir');
        } else if (reportFiles && isFile && !this.ignore.shallow(child, false)) {
          this.sink.gate.touch(child, 'add');
        }
      }
      if (--budget <= 0) {
        budget = 500;
        await yieldNow();
      }
    }
  }

  private unwatchUnder(rel: string): void {
    const prefix = rel + '/';
    for (const [k, w] of this.watchers) {
      if (k === rel || k.startsWith(prefix) || rel === '') {
        w.close();
        this.watchers.delete(k);
      }
    }
  }

  private onEvent(dirRel: string, event: string, name: string | Buffer | null): void {
    if (this.closed || !this.watchers.has(dirRel)) return;
    if (name === null) {
      // No name (queue overflow): say "look at this whole folder again".
      this.sink.report(dirRel, 'addDir');
      return;
    }
    const rel = (dirRel === '' ? '' : dirRel + '/') + name.toString();
    // File rules apply to folders too; folder-only rules are checked once we know the type.
    if (this.ignore.shallow(rel, false)) return;
    if (event === 'change' && !this.watchers.has(rel)) {
      // Content changed: no lstat per write event; the gate looks at the file once it is quiet.
      this.sink.gate.touch(rel, 'change');
      return;
    }
    fs.lstat(this.abs(rel), (err, st) => this.onStat(dirRel, rel, name.toString(), err, st));
  }

  private onStat(dirRel: string, rel: string, name: string, err: NodeJS.ErrnoException | null, st: fs.Stats | undefined): void {
    // The folder this event came from was unwatched while we stat-ed (removed, moved, or the
    // same removal already handled through another event): the event is stale.
    if (this.closed || !this.watchers.has(dirRel)) return;
    if (err || !st) {
      if (err && err.code !== 'ENOENT' && err.code !== 'ENOTDIR') {
        this.sink.fail(err, rel);
        return;
      }
      // inotify reports a watched folder's own removal to the folder's watch under its own name.
      // The parent's watch reports the same removal (and must still find the folder in `watchers`
      // to call it unlinkDir), so drop the self-event; only the root has no parent to do that.
      if (name === path.basename(this.abs(dirRel)) && !fs.existsSync(this.abs(dirRel))) {
        if (dirRel === '') {
          this.unwatchUnder('');
          this.sink.fail(Object.assign(new Error(`mapping folder ${this.root} disappeared`), { code: 'ENOENT' }), '');
          this.awaitRoot();
        }
        return;
      }
      this.sink.gate.cancel(rel);
      if (this.watchers.has(rel)) {
        this.unwatchUnder(rel);
        this.sink.gate.cancelUnder(rel);
        this.sink.report(rel, 'unlinkDir');
      } else {
        this.sink.report(rel, 'unlink');
      }
      return;
    }
    if (st.isDirectory()) {
      if (this.ignore.shallow(rel, true) || this.watchers.has(rel)) return;
      this.sink.report(rel, 'addDir');
      this.addTree(rel, true).catch((e) => this.sink.fail(e, rel));
    } else if (st.isFile()) {
      this.sink.gate.touch(rel, 'add');
    }
    // Symlinks, FIFOs, sockets, devices: never synced (see walk.ts).
  }
}
