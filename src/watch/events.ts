import fs from 'node:fs';
import path from 'node:path';
import { scanFolders } from './folders.js';
import type { IgnoreMatcher } from './ignore.js';
import { parcelBackend, type Subscription, type WatchBackend, type WatchEvent } from './parcel.js';
import type { StabilityGate } from './stability.js';

export interface EventsSink {
  gate: StabilityGate;
  /** Reported at once (removals), or once what they name is watched (new folders). */
  report(rel: string, kind: 'unlink' | 'addDir' | 'unlinkDir'): void;
  /** `fatal`: the watch is over for good (the caller falls back to rescans); otherwise it recovers by itself. */
  fail(e: unknown, rel: string, fatal?: boolean): void;
}

/** How often a vanished mapping folder is looked for. */
const ROOT_RETRY_MS = 2000;
/** Folder events arriving together are answered with one re-subscription: this long after the last... */
const RESYNC_QUIET_MS = 300;
/** ...but no later than this after the first. */
const RESYNC_MAX_WAIT_MS = 3000;
/**
 * Ignored folders handed to the native watcher as paths to skip. It compares
 * every path of its crawl with each, building a string per comparison: 1,000
 * cost seconds at 100k files. The shallowest come first; the rest are crawled
 * and watched, and their events dropped by our own matcher.
 */
const MAX_SKIPPED_FOLDERS = 16;

/**
 * Events mode on @parcel/watcher: one subscription per mapping root; this
 * class is the glue that turns its create/update/delete into the watcher's
 * hints. Files go through the stability gate. A path that was a folder
 * (known from a folder scan, kept up to date by the events) is reported as
 * unlinkDir when it goes. A folder that appears is walked, its files handed
 * to the gate, and reported as addDir ("walk this folder").
 *
 * On Linux the native watcher adds a watch only for the folder an event
 * names: the subfolders of a folder moved in are not watched, and those of a
 * renamed folder keep reporting their old paths. A new folder that holds
 * subfolders therefore makes the whole root subscribed again (one crawl),
 * and its addDir is reported once more after that: the caller's rescan then
 * starts once every folder is watched, and sees whatever changed in between.
 */
export class EventsWatcher {
  private sub: Subscription | undefined;
  private dirs = new Set<string>();
  private closed = false;
  /** The watch ended for good (reported once). */
  private dead = false;
  private rootTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncSince: number | undefined;
  private resyncing: Promise<void> | undefined;
  /** New folders reported again once the re-subscription is in place. */
  private held: string[] = [];
  private readonly base: string;

  constructor(
    private readonly root: string,
    private readonly ignore: IgnoreMatcher,
    private readonly sink: EventsSink,
    private readonly backend: WatchBackend = parcelBackend(),
  ) {
    this.base = root.endsWith(path.sep) ? root : root + path.sep;
  }

  get watchedDirs(): number {
    return this.sub ? this.dirs.size + 1 : 0;
  }

  /** Subscribes; files that exist already are not reported (the caller's start rescan covers them). */
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
      this.sink.fail(Object.assign(new Error(`${this.root} is not a folder`), { code: 'ENOTDIR' }), '', true);
      return;
    }
    if ((await this.subscribe()) === 'gone') this.rootGone();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.rootTimer);
    clearTimeout(this.resyncTimer);
    await this.resyncing;
    await this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private rootIsDir(): boolean {
    try {
      return fs.statSync(this.root).isDirectory();
    } catch {
      return false;
    }
  }

  /**
   * Scans the folders, then subscribes without the ignored and unreadable
   * ones. 'gone': the root is not there (the caller waits for it); 'failed':
   * reported as fatal already.
   */
  private async subscribe(): Promise<'ok' | 'gone' | 'failed'> {
    for (let attempt = 0; ; attempt++) {
      const scan = await scanFolders(this.root, '', this.ignore, { stopped: () => this.closed });
      if (this.closed) return 'failed';
      this.dirs = new Set(scan.dirs);
      // Unlisted folders must be skipped whatever their number: the native crawl gives up on the first one.
      const skip = [...scan.ignored.slice(0, attempt === 0 ? MAX_SKIPPED_FOLDERS : undefined), ...scan.unreadable];
      try {
        const sub = await this.backend.subscribe(
          this.root,
          this.onEvents,
          skip.map((rel) => this.base + rel),
        );
        if (this.closed) {
          await sub.unsubscribe();
          return 'failed';
        }
        this.sub = sub;
        return 'ok';
      } catch (e) {
        if (this.closed) return 'failed';
        const code = (e as NodeJS.ErrnoException).code;
        if (!this.rootIsDir()) return 'gone';
        // A folder removed or locked during the crawl, or unreadable under an ignored one: once more, skipping all.
        if (attempt === 0 && (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM')) continue;
        this.fatal(e);
        return 'failed';
      }
    }
  }

  private fatal(e: unknown): void {
    if (this.dead || this.closed) return;
    this.dead = true;
    clearTimeout(this.resyncTimer);
    void this.sub?.unsubscribe();
    this.sub = undefined;
    this.sink.fail(e, '', true);
  }

  private readonly onEvents = (err: Error | null, events: WatchEvent[]): void => {
    if (this.closed || this.dead) return;
    if (err) {
      // The subscription is over. A root that went away comes back by itself; anything else does not.
      if (this.rootIsDir()) this.fatal(err);
      else this.rootGone();
      return;
    }
    for (const e of events) this.onEvent(e);
  };

  private relOf(abs: string): string | null {
    if (abs === this.root) return '';
    if (!abs.startsWith(this.base)) return null;
    const rel = abs.slice(this.base.length);
    return path.sep === '/' ? rel : rel.split(path.sep).join('/');
  }

  private onEvent(e: WatchEvent): void {
    const rel = this.relOf(e.path);
    if (rel === null) return;
    if (rel === '') {
      if (e.type === 'delete') this.rootGone();
      return;
    }
    // File rules, and every ignored ancestor folder, before any stat.
    if (this.ignore(rel, false)) return;
    if (e.type === 'delete') {
      this.removed(rel);
      return;
    }
    // A folder's own change (its mtime, its mode) says nothing a hint needs.
    if (this.dirs.has(rel)) return;
    if (e.type === 'update') {
      // Content changed: no lstat per write; the gate looks at the file once it is quiet.
      this.sink.gate.touch(rel, 'change');
      return;
    }
    fs.lstat(this.base + rel, (err, st) => {
      if (this.closed || this.dead) return;
      if (err) {
        // Gone again already: its delete event speaks for it.
        if (err.code !== 'ENOENT' && err.code !== 'ENOTDIR') this.sink.fail(err, rel);
        return;
      }
      if (st.isDirectory()) void this.appeared(rel);
      else if (st.isFile()) this.sink.gate.touch(rel, 'add');
      // Symlinks, FIFOs, sockets, devices: never synced (see walk.ts).
    });
  }

  private removed(rel: string): void {
    this.sink.gate.cancel(rel);
    if (!this.dirs.has(rel)) {
      // Not a folder we knew: a file, unless folder rules say it was an ignored folder.
      if (!this.ignore(rel, true)) this.sink.report(rel, 'unlink');
      return;
    }
    const prefix = `${rel}/`;
    for (const d of this.dirs) if (d === rel || d.startsWith(prefix)) this.dirs.delete(d);
    this.sink.gate.cancelUnder(rel);
    this.sink.report(rel, 'unlinkDir');
  }

  /** A folder created or moved in: its files (filled before any watch was on it) go to the gate. */
  private async appeared(rel: string): Promise<void> {
    if (this.dirs.has(rel) || this.ignore(rel, true)) return;
    this.dirs.add(rel);
    const scan = await scanFolders(this.root, rel, this.ignore, {
      onFile: (file) => this.sink.gate.touch(file, 'add'),
      stopped: () => this.closed,
    });
    if (this.closed || this.dead) return;
    for (const d of scan.dirs) this.dirs.add(d);
    this.sink.report(rel, 'addDir');
    if (this.backend.name !== 'inotify' || scan.dirs.length === 0) return;
    this.held.push(rel);
    const now = Date.now();
    this.resyncSince ??= now;
    clearTimeout(this.resyncTimer);
    const wait = Math.max(0, Math.min(RESYNC_QUIET_MS, this.resyncSince + RESYNC_MAX_WAIT_MS - now));
    this.resyncTimer = setTimeout(() => void this.resync(), wait);
  }

  /**
   * Subscribes the root again so that every folder is watched under its
   * current path. Events in the moment between the two subscriptions are
   * lost; the addDir reports repeated after it make the caller rescan.
   */
  private async resync(): Promise<void> {
    if (this.resyncing) {
      await this.resyncing;
      if (this.held.length > 0 && !this.closed) return this.resync();
      return;
    }
    this.resyncSince = undefined;
    const held = this.held.splice(0);
    this.resyncing = (async () => {
      await this.sub?.unsubscribe();
      this.sub = undefined;
      if (!this.closed && !this.dead && (await this.subscribe()) === 'gone') this.rootGone();
    })();
    try {
      await this.resyncing;
    } finally {
      this.resyncing = undefined;
    }
    if (this.closed) return;
    for (const rel of held) this.sink.report(rel, 'addDir');
  }

  /**
   * The root went away (a disk unmounted, a share folder renamed): look for
   * it now and then, and when it is back watch it again and ask for a full
   * walk (addDir of '').
   */
  private rootGone(): void {
    if (this.rootTimer || this.closed || this.dead) return;
    clearTimeout(this.resyncTimer);
    this.held = [];
    void this.sub?.unsubscribe();
    this.sub = undefined;
    this.dirs.clear();
    this.sink.gate.cancelUnder('');
    this.sink.fail(Object.assign(new Error(`mapping folder ${this.root} disappeared`), { code: 'ENOENT' }), '');
    this.awaitRoot();
  }

  private awaitRoot(): void {
    if (this.closed) return;
    this.rootTimer = setTimeout(() => {
      if (!this.rootIsDir()) return this.awaitRoot();
      this.subscribe().then(
        (outcome) => {
          if (outcome === 'gone') return this.awaitRoot();
          this.rootTimer = undefined;
          if (outcome === 'ok') this.sink.report('', 'addDir');
        },
        (e: unknown) => this.fatal(e),
      );
    }, ROOT_RETRY_MS);
  }
}
