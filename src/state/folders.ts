import type Database from 'better-sqlite3';
import type { Clock } from '../lib/clock.js';
import { withoutFsync } from './relaxed.js';

/** Same shape as the Squidex module's FolderCache (structural, so no import cycle). */
export interface FolderCache {
  get(remotePath: string): string | undefined;
  set(remotePath: string, id: string): void;
  delete(remotePath: string): void;
}

export interface FolderStore extends FolderCache {
  clear(): void;
  /** Every cached [remote path, id] (empty-folder clean-up). */
  entries(): Array<[string, string]>;
}

/**
 * Remote folder path → asset folder id, app-wide. Persisted so a restart does
 * not list or create folders again; the resolver invalidates entries the
 * server no longer knows.
 */
export class SqliteFolderCache implements FolderStore {
  private readonly sGet;
  private readonly sSet;
  private readonly sDel;
  private readonly sClear;
  private readonly sAll;
  /**
   * Every job asks for its folder: a query each showed in profiles of a first
   * sync. Only this process writes the table while it holds the lock.
   */
  private readonly memo = new Map<string, string>();

  constructor(
    private readonly db: Database.Database,
    private readonly clock: Clock,
  ) {
    this.sAll = db.prepare(`SELECT path, id FROM folders`).raw();
    this.sGet = db.prepare(`SELECT id FROM folders WHERE path = ?`).pluck();
    this.sSet = db.prepare(
      `INSERT INTO folders (path, id, updated_at) VALUES (?, ?, ?) ON CONFLICT (path) DO UPDATE SET id = excluded.id, updated_at = excluded.updated_at`,
    );
    // Descendants of 'A/B' are exactly the keys in ['A/B/', 'A/B0'): '0' follows '/'
    // in byte order, so this is an index range scan with no LIKE escaping to get wrong.
    this.sDel = db.prepare(`DELETE FROM folders WHERE path = @p OR (path >= @p || '/' AND path < @p || '0')`);
    this.sClear = db.prepare(`DELETE FROM folders`);
  }

  get(remotePath: string): string | undefined {
    let id = this.memo.get(remotePath);
    if (id === undefined) {
      id = this.sGet.get(remotePath) as string | undefined;
      if (id !== undefined) this.memo.set(remotePath, id);
    }
    return id;
  }

  set(remotePath: string, id: string): void {
    this.memo.set(remotePath, id);
    // A cache entry lost in a power cut is looked up again (the resolver lists before it creates).
    withoutFsync(this.db, () => this.sSet.run(remotePath, id, this.clock.now()));
  }

  /** Deletes the folder and every folder under it (a moved or deleted parent invalidates them all). */
  delete(remotePath: string): void {
    this.memo.clear(); // descendants too; rare enough to refill from the table
    if (remotePath === '') this.sClear.run();
    else this.sDel.run({ p: remotePath });
  }

  clear(): void {
    this.memo.clear();
    this.sClear.run();
  }

  entries(): Array<[string, string]> {
    return this.sAll.all() as Array<[string, string]>;
  }
}

export class MetaStore {
  private readonly sGet;
  private readonly sSet;
  private readonly sDel;

  constructor(db: Database.Database) {
    this.sGet = db.prepare(`SELECT value FROM meta WHERE key = ?`).pluck();
    this.sSet = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    this.sDel = db.prepare(`DELETE FROM meta WHERE key = ?`);
  }

  get(key: string): string | undefined {
    return this.sGet.get(key) as string | undefined;
  }

  set(key: string, value: string): void {
    this.sSet.run(key, value);
  }

  delete(key: string): void {
    this.sDel.run(key);
  }
}
