import type Database from 'better-sqlite3';
import { SyncError } from '../lib/errors.js';

/** 'SQSY': marks the file as ours, so we never migrate some other program's database. */
export const APPLICATION_ID = 0x53515359;

/**
 * Numbered migrations. Append only: a shipped entry is never edited, because
 * `user_version` on disk says it already ran. Every table is STRICT so a
 * wrong type is an error at write time, not a surprise at read time.
 */
const MIGRATIONS: readonly string[] = [
  // 1: files, folder cache, meta, jobs.
  `
  CREATE TABLE files (
    mapping       TEXT NOT NULL,
    path          TEXT NOT NULL,
    size          INTEGER,
    mtime_ms      REAL,            -- fs.Stats.mtimeMs is fractional; REAL round-trips it exactly
    sha256        TEXT,            -- NULL until the first upload succeeded
    asset_id      TEXT NOT NULL,   -- chosen client-side, stored before the first upload
    parent_id     TEXT,
    version       INTEGER,
    synced_at     INTEGER,
    missing_since INTEGER,
    PRIMARY KEY (mapping, path)
  ) STRICT, WITHOUT ROWID;
  -- One state file serves one app, so an asset id may belong to one path only.
  CREATE UNIQUE INDEX files_asset ON files (asset_id);
  CREATE INDEX files_sha ON files (mapping, sha256, size) WHERE sha256 IS NOT NULL;

  CREATE TABLE folders (
    path       TEXT NOT NULL PRIMARY KEY,   -- remote folder path, 'A/B/C'
    id         TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;

  -- AUTOINCREMENT: ids are never reused, so (id, token) names one claim for ever.
  CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    mapping        TEXT NOT NULL,
    path           TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'failed')),
    reason         TEXT,
    generation     INTEGER NOT NULL DEFAULT 0,  -- bumped by every event
    claimed_gen    INTEGER,                     -- generation seen by the running claim
    first_event_at INTEGER,                     -- first event since the last claim: max-wait anchor
    run_at         INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    claims         INTEGER NOT NULL DEFAULT 0,  -- never refunded; makes each claim's token unique
    token          TEXT,
    lease_until    INTEGER,
    last_error     TEXT,
    last_code      TEXT,
    failed_at      INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
  ) STRICT;
  -- One row per path, whatever its state: a failed path is revived, never duplicated.
  CREATE UNIQUE INDEX jobs_path ON jobs (mapping, path);
  CREATE INDEX jobs_due ON jobs (run_at, id) WHERE state = 'queued';
  CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
  `,
  // 2: paths gone locally whose asset stays on the server (deletes: keep), for `status`.
  `
  CREATE TABLE kept (
    mapping    TEXT NOT NULL,
    path       TEXT NOT NULL,
    asset_id   TEXT NOT NULL,
    gone_since INTEGER NOT NULL,
    PRIMARY KEY (mapping, path)
  ) STRICT, WITHOUT ROWID;
  `,
  // 3: the asset id a job uploads a new file under, chosen when it is claimed
  // (durable with the claim's commit, so a retry after a crash upserts the same
  // id instead of making a second asset); and metadata stamps waiting to go out
  // in one bulk request. Stamps are appended in order with no index on the
  // asset id: random keys would dirty one index page per upload in every
  // commit; a newer stamp of an asset simply comes later.
  `
  ALTER TABLE jobs ADD COLUMN asset_hint TEXT;
  CREATE TABLE stamps (
    seq        INTEGER PRIMARY KEY,
    asset_id   TEXT NOT NULL,
    body       TEXT NOT NULL,              -- JSON: the bulk Annotate job without its id
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 4: paths never read on purpose (symlinks, FIFOs, files outside the mapping), for `status`.
  `
  CREATE TABLE skipped (
    mapping TEXT NOT NULL,
    path    TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (mapping, path)
  ) STRICT, WITHOUT ROWID;
  `,
  // 5: why a job failed: 'file' (this path's own trouble; set by every failure from
  // this version on). NULL on rows failed by earlier versions, which also failed jobs
  // for Squidex being away or refusing the credentials: those are revived when it answers.
  `
  ALTER TABLE jobs ADD COLUMN fail_kind TEXT;
  `,
  // 6: differences between the share and Squidex that verify found (or a replace
  // held back), for `status`; and the content version (fileVersion) each asset
  // had when we last wrote it, so a change made in Squidex is told from ours.
  // No row means 0, so a first sync writes none; -1 marks assets synced before
  // this table existed (unknown until verify sees our stamp on them).
  `
  CREATE TABLE drift (
    asset_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    mapping  TEXT NOT NULL,
    path     TEXT NOT NULL,   -- the local path; for an unknown asset, its folder path and name on the server
    detail   TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (asset_id, kind)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE file_versions (
    asset_id     TEXT NOT NULL PRIMARY KEY,
    file_version INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  INSERT INTO file_versions (asset_id, file_version) SELECT asset_id, -1 FROM files WHERE sha256 IS NOT NULL;
  `,
  // 7: resumable (tus) uploads in progress, one per path: where the upload
  // lives, what the server confirmed, and the file's size and mtime when it
  // started (a file that changed since is not continued but started over).
  `
  CREATE TABLE uploads (
    mapping    TEXT NOT NULL,
    path       TEXT NOT NULL,
    asset_id   TEXT NOT NULL,
    server     TEXT NOT NULL,             -- squidex url|app the upload URL belongs to
    url        TEXT NOT NULL,
    size       INTEGER NOT NULL,
    mtime_ms   REAL NOT NULL,
    confirmed  INTEGER NOT NULL DEFAULT 0, -- the offset the server last confirmed (may lag it by a second)
    sent_to    INTEGER NOT NULL DEFAULT 0, -- how far any PATCH of this file got: bytes below it sent again count as such
    started_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (mapping, path)
  ) STRICT, WITHOUT ROWID;
  `,
  // 8: why a path is kept on the server (NULL: deletes: keep; 'referenced': Squidex refused
  // the delete because content uses the asset, looked at again at each full rescan); the
  // tags and metadata keys squidex-sync set on each asset, so it changes only its own, and
  // what the file itself said, so a sidecar or config change needs no new read of the file;
  // sidecars (.xmp) read as metadata, with the size and mtime last applied.
  `
  ALTER TABLE kept ADD COLUMN reason TEXT;
  CREATE TABLE annotations (
    asset_id   TEXT NOT NULL PRIMARY KEY,
    tags       TEXT NOT NULL DEFAULT '[]',   -- JSON array: tags squidex-sync added and owns
    metadata   TEXT NOT NULL DEFAULT '{}',   -- JSON object: metadata keys (and values) it set
    source     TEXT,                         -- JSON: what the file's own bytes said; NULL = never read
    error      TEXT,                         -- why the last write of tags/metadata was given up, for status
    updated_at INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE sidecars (
    mapping  TEXT NOT NULL,
    path     TEXT NOT NULL,
    size     INTEGER NOT NULL,
    mtime_ms REAL NOT NULL,
    PRIMARY KEY (mapping, path)
  ) STRICT, WITHOUT ROWID;
  `,
  // 9: the rows seen missing, by mapping and time: the delete guard counts them for
  // every deleted file, which without it reads the mapping's every row.
  `
  CREATE INDEX files_missing ON files (mapping, missing_since) WHERE missing_since IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema to SCHEMA_VERSION in one IMMEDIATE transaction, so a crash
 * mid-migration leaves the old version intact. Refuses a newer database: old
 * code writing rows it does not understand would corrupt state silently.
 */
export function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (appId !== 0 && appId !== APPLICATION_ID) {
      throw new SyncError('STATE_FOREIGN', `${file} belongs to another program (application_id ${appId}).`, {
        hint: 'Point `state:` in the config at a new file.',
      });
    }
    if (appId === 0 && version === 0) {
      const n = (db.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'`).get() as { n: number }).n;
      if (n > 0) {
        throw new SyncError('STATE_FOREIGN', `${file} is an SQLite database of another program.`, {
          hint: 'Point `state:` in the config at a new file.',
        });
      }
    }
    if (version > SCHEMA_VERSION) {
      throw new SyncError('STATE_TOO_NEW', `${file} has schema version ${version}; this squidex-sync knows up to ${SCHEMA_VERSION}.`, {
        hint: 'Upgrade squidex-sync, or move the file aside to start over (a rescan rebuilds it).',
      });
    }
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    if (appId !== APPLICATION_ID) db.pragma(`application_id = ${APPLICATION_ID}`);
  }).immediate();
}
