import type Database from 'better-sqlite3';
import { emptyTables, type EmptyTables } from '../state/empty.js';
import { META_SHA } from '../worker/mapping.js';

/** meta key: when the last background verify finished (ms), so a restart keeps the rhythm. */
export const VERIFIED_AT = 'verify:at';

/** How the server differs from what the share says, for one asset. */
export type DriftKind = 'missing' | 'moved' | 'renamed' | 'content' | 'unknown';

export interface DriftRow {
  mapping: string;
  /** The local path; for an unknown asset, its folder path and name on the server. */
  path: string;
  assetId: string;
  kind: DriftKind;
  detail: string;
  seenAt: number;
}

/**
 * The tables verify owns (migration 5): what it found, for `status`, and the
 * content version each asset had when we last wrote it. Statements are
 * prepared once per connection.
 */
export class VerifyStore {
  private readonly sDriftDel;
  private readonly sDriftPut;
  private readonly sDriftClear;
  private readonly sDriftList;
  private readonly sDriftCount;
  private readonly sDriftGet;
  private readonly sFvGet;
  private readonly sFvPut;
  private readonly sFvDel;
  private readonly sFvPrune;
  private readonly sStamp;
  private readonly sKnown;
  private readonly empty: EmptyTables;

  constructor(private readonly db: Database.Database) {
    this.empty = emptyTables(db);
    this.sDriftDel = db.prepare(`DELETE FROM drift WHERE mapping = ?`);
    this.sDriftPut = db.prepare(
      `INSERT INTO drift (asset_id, kind, mapping, path, detail, seen_at) VALUES (@assetId, @kind, @mapping, @path, @detail, @seenAt)
       ON CONFLICT (asset_id, kind) DO UPDATE SET mapping = excluded.mapping, path = excluded.path, detail = excluded.detail`,
    );
    this.sDriftClear = db.prepare(`DELETE FROM drift WHERE asset_id = ? AND kind IN ('missing', 'content')`);
    this.sDriftGet = db.prepare(`SELECT detail FROM drift WHERE asset_id = ? AND kind = ?`).pluck();
    this.sDriftList = db.prepare(
      `SELECT mapping, path, asset_id AS assetId, kind, detail, seen_at AS seenAt FROM drift ORDER BY kind = 'unknown', mapping, path, kind LIMIT ?`,
    );
    this.sDriftCount = db.prepare(`SELECT kind, count(*) AS n FROM drift GROUP BY kind`);
    this.sFvGet = db.prepare(`SELECT file_version FROM file_versions WHERE asset_id = ?`).pluck();
    this.sFvPut = db.prepare(
      `INSERT INTO file_versions (asset_id, file_version) VALUES (?, ?) ON CONFLICT (asset_id) DO UPDATE SET file_version = excluded.file_version`,
    );
    this.sFvDel = db.prepare(`DELETE FROM file_versions WHERE asset_id = ?`);
    this.sFvPrune = db.prepare(`DELETE FROM file_versions WHERE asset_id NOT IN (SELECT asset_id FROM files)`);
    // No index on stamps.asset_id (migration 3): a scan of the few stamps still waiting.
    this.sStamp = db.prepare(`SELECT body FROM stamps WHERE asset_id = ? ORDER BY seq DESC LIMIT 1`).pluck();
    // Every id we stand for: synced or reserved paths, kept assets, and uploads under way (a job's id hint).
    this.sKnown = db
      .prepare(
        `SELECT asset_id FROM files UNION ALL SELECT asset_id FROM kept UNION ALL SELECT asset_hint FROM jobs WHERE asset_hint IS NOT NULL`,
      )
      .pluck();
  }

  /** What the last verify of a mapping found, in place of what it had. */
  replaceDrift(mapping: string, rows: ReadonlyArray<Omit<DriftRow, 'seenAt'>>, now: number): void {
    this.empty.wrote('drift');
    this.db.transaction(() => {
      this.sDriftDel.run(mapping);
      for (const r of rows) this.sDriftPut.run({ ...r, seenAt: now });
    })();
  }

  putDrift(row: Omit<DriftRow, 'seenAt'>, now: number): void {
    this.empty.wrote('drift');
    this.sDriftPut.run({ ...row, seenAt: now });
  }

  driftDetail(assetId: string, kind: DriftKind): string | undefined {
    return this.sDriftGet.get(assetId, kind) as string | undefined;
  }

  listDrift(limit = 200): DriftRow[] {
    return this.sDriftList.all(limit) as DriftRow[];
  }

  countDrift(): Map<DriftKind, number> {
    return new Map((this.sDriftCount.all() as { kind: DriftKind; n: number }[]).map((r) => [r.kind, r.n]));
  }

  /**
   * The fileVersion we last left on this asset: 0 when there is no row (a new
   * asset; a first sync writes nothing here), undefined when unknown (synced
   * before this was kept).
   */
  fileVersion(assetId: string): number | undefined {
    const v = this.sFvGet.get(assetId) as number | undefined;
    if (v === undefined) return 0;
    return v < 0 ? undefined : v;
  }

  /**
   * We just wrote this asset (an upload, a move, an adoption): its content
   * version is ours, and the differences a verify listed for its content are
   * settled.
   */
  wrote(assetId: string, fileVersion: number | undefined): void {
    if (fileVersion === 0) this.forgetFileVersion(assetId);
    else this.putFileVersion(assetId, typeof fileVersion === 'number' ? fileVersion : -1);
    if (!this.empty.isEmpty('drift')) this.sDriftClear.run(assetId);
  }

  /** Our stamp is on this asset as verify saw it: its content version is the one we wrote. */
  learnFileVersion(assetId: string, fileVersion: number): void {
    if (fileVersion === 0) this.forgetFileVersion(assetId);
    else this.putFileVersion(assetId, fileVersion);
  }

  private putFileVersion(assetId: string, fileVersion: number): void {
    this.empty.wrote('file_versions');
    this.sFvPut.run(assetId, fileVersion);
  }

  private forgetFileVersion(assetId: string): void {
    if (!this.empty.isEmpty('file_versions')) this.sFvDel.run(assetId);
  }

  /** Forget versions of assets no longer in the files table. */
  pruneFileVersions(): number {
    return this.sFvPrune.run().changes;
  }

  /** The hash in the newest stamp still waiting to go out for this asset, if any. */
  pendingStampSha(assetId: string): string | undefined {
    const body = this.sStamp.get(assetId) as string | undefined;
    if (body === undefined) return undefined;
    const sha = (JSON.parse(body) as { metadata?: Record<string, unknown> }).metadata?.[META_SHA];
    return typeof sha === 'string' ? sha : undefined;
  }

  knownAssetIds(): Set<string> {
    return new Set(this.sKnown.all() as string[]);
  }
}

const stores = new WeakMap<Database.Database, VerifyStore>();

export function verifyStore(db: Database.Database): VerifyStore {
  let s = stores.get(db);
  if (!s) {
    s = new VerifyStore(db);
    stores.set(db, s);
  }
  return s;
}
