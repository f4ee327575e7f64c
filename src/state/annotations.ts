import type Database from 'better-sqlite3';

/** Tags and metadata keys (with the values written) that squidex-sync set on one asset. */
export interface Annotation {
  tags: string[];
  metadata: Record<string, string>;
}

export interface AnnotationRow {
  assetId: string;
  /** What squidex-sync owns on the asset now: only these it ever changes or removes. */
  applied: Annotation;
  /** What the file's own bytes said when last read (JSON as the worker wrote it); null = never read. */
  source: unknown;
  error: string | null;
}

export const NO_ANNOTATION: Annotation = Object.freeze({ tags: [], metadata: {} }) as Annotation;

/**
 * Per asset, what squidex-sync wrote into its tags and metadata, so a change
 * adds and removes only its own: tags an editor added in Squidex, Squidex's
 * automatic tags and keys it never set stay. A lost state database forgets
 * this, and then every tag already on an asset counts as an editor's.
 */
export class AnnotationsRepo {
  private readonly sGet;
  private readonly sSource;
  private readonly sApplied;
  private readonly sBoth;
  private readonly sError;
  private readonly sRemove;
  private readonly sFailed;

  constructor(db: Database.Database) {
    this.sGet = db.prepare(`SELECT tags, metadata, source, error FROM annotations WHERE asset_id = ?`).raw();
    this.sSource = db.prepare(`
      INSERT INTO annotations (asset_id, source, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (asset_id) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at`);
    this.sApplied = db.prepare(`
      INSERT INTO annotations (asset_id, tags, metadata, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (asset_id) DO UPDATE SET tags = excluded.tags, metadata = excluded.metadata, error = NULL, updated_at = excluded.updated_at`);
    this.sBoth = db.prepare(`
      INSERT INTO annotations (asset_id, tags, metadata, source, updated_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (asset_id) DO UPDATE SET tags = excluded.tags, metadata = excluded.metadata, source = excluded.source,
        error = NULL, updated_at = excluded.updated_at`);
    this.sError = db.prepare(`
      INSERT INTO annotations (asset_id, error, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (asset_id) DO UPDATE SET error = excluded.error, updated_at = excluded.updated_at`);
    this.sRemove = db.prepare(`DELETE FROM annotations WHERE asset_id = ?`);
    this.sFailed = db.prepare(`
      SELECT f.mapping, f.path, a.asset_id AS assetId, a.error FROM annotations a JOIN files f ON f.asset_id = a.asset_id
      WHERE a.error IS NOT NULL ORDER BY f.mapping, f.path LIMIT ?`);
  }

  get(assetId: string): AnnotationRow | undefined {
    const r = this.sGet.get(assetId) as [string, string, string | null, string | null] | undefined;
    if (!r) return undefined;
    return {
      assetId,
      applied: { tags: JSON.parse(r[0]) as string[], metadata: JSON.parse(r[1]) as Record<string, string> },
      source: r[2] === null ? null : JSON.parse(r[2]),
      error: r[3],
    };
  }

  applied(assetId: string): Annotation {
    return this.get(assetId)?.applied ?? NO_ANNOTATION;
  }

  setSource(assetId: string, source: unknown, now: number): void {
    this.sSource.run(assetId, JSON.stringify(source), now);
  }

  /** The server took a write: this is what squidex-sync owns now (and no failure is left to report). */
  setApplied(assetId: string, applied: Annotation, now: number): void {
    this.sApplied.run(assetId, JSON.stringify(applied.tags), JSON.stringify(applied.metadata), now);
  }

  /** setApplied and setSource in one write. */
  setAppliedAndSource(assetId: string, applied: Annotation, source: unknown, now: number): void {
    this.sBoth.run(assetId, JSON.stringify(applied.tags), JSON.stringify(applied.metadata), JSON.stringify(source), now);
  }

  setError(assetId: string, message: string, now: number): void {
    this.sError.run(assetId, message, now);
  }

  remove(assetId: string): void {
    this.sRemove.run(assetId);
  }

  /** Paths whose tags or metadata could not be written, for `status`. */
  failed(limit = 200): Array<{ mapping: string; path: string; assetId: string; error: string }> {
    return this.sFailed.all(limit) as Array<{ mapping: string; path: string; assetId: string; error: string }>;
  }
}

/** Sidecars (.xmp) read as metadata, with the size and mtime last applied to their files' assets. */
export class SidecarsRepo {
  private readonly sList;
  private readonly sPut;
  private readonly sRemove;

  constructor(db: Database.Database) {
    this.sList = db.prepare(`SELECT path, size, mtime_ms FROM sidecars WHERE mapping = ?`).raw();
    this.sPut = db.prepare(`INSERT OR REPLACE INTO sidecars (mapping, path, size, mtime_ms) VALUES (?, ?, ?, ?)`);
    this.sRemove = db.prepare(`DELETE FROM sidecars WHERE mapping = ? AND path = ?`);
  }

  list(mapping: string): Map<string, { size: number; mtimeMs: number }> {
    const rows = this.sList.all(mapping) as Array<[string, number, number]>;
    return new Map(rows.map(([path, size, mtimeMs]) => [path, { size, mtimeMs }]));
  }

  put(mapping: string, path: string, size: number, mtimeMs: number): void {
    this.sPut.run(mapping, path, size, mtimeMs);
  }

  remove(mapping: string, path: string): void {
    this.sRemove.run(mapping, path);
  }
}
