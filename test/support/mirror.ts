/**
 * The one oracle every reliability scenario ends with (issue 6, after Syncthing's
 * compareDirectories and the SQLite crash tests): the local tree, the test server's
 * store and the state database must agree exactly.
 *
 * The file walk is written here, not borrowed from src/watch, so a bug in the
 * daemon's walker cannot hide itself; only the ignore rules (which define what
 * "should be synced" means) come from the product.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isUtf8 } from 'node:buffer';
import { join } from 'node:path';
import type { Inspection } from '../../src/testserver/index.js';
import { openState } from '../../src/state/index.js';
import { compileIgnore } from '../../src/watch/index.js';

export interface MirrorOptions {
  /** Local mapping root. */
  local: string;
  /** Remote folder path of the mapping, `A/B`, '' = root. */
  remote: string;
  /** Mapping name in the state database. */
  mapping: string;
  inspection: Inspection;
  /** State database file; the daemon must have stopped (the file is copied, never opened in place). */
  statePath?: string;
  /** Extra ignore globs of the mapping. */
  ignore?: string[];
  /** Local paths that are expected to have no asset (refused by the server, unreadable, …). */
  expectMissing?: string[];
  /** Live assets under the mapping without a local file are allowed (deletes: keep after a delete). */
  allowExtra?: boolean;
}

export interface MirrorReport {
  problems: string[];
  files: number;
  liveAssets: number;
  folders: number;
}

type Asset = Inspection['assets'][number];

/** Regular files under root (relative POSIX paths, as the file system spells them), minus ignored ones. */
export function localFiles(root: string, ignore: string[] = []): Map<string, string> {
  const isIgnored = compileIgnore({ ignore, ignoreDefaults: true }, root);
  const out = new Map<string, string>();
  // An explicit stack bounds the walk by the tree itself; symlinks are never followed (lstat).
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let raw: Buffer[];
    try {
      raw = readdirSync(join(root, rel), { encoding: 'buffer' });
    } catch {
      continue; // unreadable folder: nothing of it can be expected on the server
    }
    // A name that is not UTF-8 is never synced (README "What it does, exactly"), nor what is under it.
    for (const name of raw.filter((b) => isUtf8(b)).map((b) => b.toString())) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) {
        if (!isIgnored(r, true)) stack.push(r);
      } else if (st.isFile() && !isIgnored(r, false)) {
        out.set(r, sha256File(join(root, r)));
      }
    }
  }
  return out;
}

function sha256File(abs: string): string {
  try {
    return createHash('sha256').update(readFileSync(abs)).digest('hex');
  } catch {
    return 'unreadable';
  }
}

/** Compares the local tree, the server and the state database; returns every problem found. */
export function checkMirror(o: MirrorOptions): MirrorReport {
  const problems: string[] = [];
  const ins = o.inspection;
  const liveFolders = ins.folders.filter((f) => !f.deleted);
  const byId = new Map(liveFolders.map((f) => [f.id, f]));

  // No two live folders with one name under one parent (case-insensitive, as Squidex resolves paths).
  const seen = new Map<string, string>();
  for (const f of liveFolders) {
    const key = `${f.parentId}/${f.folderName.toLowerCase()}`;
    if (seen.has(key)) problems.push(`two live folders named "${f.folderName}" under ${f.parentId}: ${seen.get(key)} and ${f.id}`);
    seen.set(key, f.id);
  }
  for (const [id, n] of Object.entries(ins.createdIds)) {
    if (n > 1) problems.push(`asset ${id} was created ${n} times`);
  }

  const pathOf = (folderId: string): string | null => {
    const parts: string[] = [];
    let cur = folderId;
    for (let depth = 0; depth < 1000 && cur !== ROOT; depth++) {
      const f = byId.get(cur);
      if (!f) return null; // under a deleted folder: not live
      parts.unshift(f.folderName);
      cur = f.parentId;
    }
    return parts.join('/');
  };
  const prefix = o.remote ? `${o.remote}/` : '';
  const assetsAt = new Map<string, Asset[]>();
  for (const a of ins.assets) {
    if (a.deleted) continue;
    const dir = pathOf(a.parentId);
    if (dir === null) continue;
    const full = dir ? `${dir}/${a.fileName}` : a.fileName;
    if (!full.startsWith(prefix)) continue;
    const rel = full.slice(prefix.length);
    assetsAt.set(rel, [...(assetsAt.get(rel) ?? []), a]);
  }

  const files = localFiles(o.local, o.ignore);
  const missing = new Set(o.expectMissing ?? []);
  const state = o.statePath ? readState(o.statePath, o.mapping, problems) : undefined;
  for (const [rel, sha] of files) {
    const found = assetsAt.get(rel) ?? [];
    if (missing.has(rel)) {
      if (found.length > 0) problems.push(`${rel}: expected no asset, found ${found.length}`);
      continue;
    }
    if (found.length !== 1) {
      problems.push(`${rel}: expected one live asset, found ${found.length}`);
      continue;
    }
    const a = found[0];
    if (a.sha256 !== sha) problems.push(`${rel}: server bytes ${a.sha256.slice(0, 12)} ≠ local ${sha.slice(0, 12)}`);
    if (state) {
      const row = state.get(rel);
      if (!row) problems.push(`${rel}: no row in the state database`);
      else if (row.assetId !== a.id) problems.push(`${rel}: state says asset ${row.assetId}, server has ${a.id}`);
      else if (row.sha256 !== sha) problems.push(`${rel}: state hash ${row.sha256?.slice(0, 12)} ≠ local ${sha.slice(0, 12)}`);
      // Our stamp (what a lost database re-adopts by) is on the asset, or still waiting in the database: never lost.
      const stamped = a.metadata.squidexSyncSha256 === sha && a.metadata.squidexSyncPath === `${prefix}${rel}`;
      if (!stamped && !state.pendingStamps.has(a.id)) problems.push(`${rel}: asset ${a.id} lacks its stamp and none is pending`);
    }
  }
  if (!o.allowExtra) {
    for (const rel of assetsAt.keys()) if (!files.has(rel)) problems.push(`${rel}: live asset without a local file`);
  } else {
    for (const [rel, list] of assetsAt) if (list.length > 1) problems.push(`${rel}: ${list.length} live assets`);
  }
  return { problems, files: files.size, liveAssets: [...assetsAt.values()].flat().length, folders: liveFolders.length };
}

const ROOT = '00000000-0000-0000-0000-000000000000';

/** Copies the database (and its WAL) and checks the copy, so the check cannot change the original. */
function readState(
  statePath: string,
  mapping: string,
  problems: string[],
): Map<string, { assetId: string; sha256: string | null }> & { pendingStamps: Set<string> } {
  const dir = mkdtempSync(join(tmpdir(), 'sqsync-mirror-'));
  try {
    const copy = join(dir, 'state.db');
    copyFileSync(statePath, copy);
    if (existsSync(`${statePath}-wal`)) copyFileSync(`${statePath}-wal`, `${copy}-wal`);
    const state = openState(copy, { recover: false });
    try {
      for (const p of state.check()) problems.push(`state: ${p}`);
      const running = state.db.prepare(`SELECT path FROM jobs WHERE state = 'running' LIMIT 20`).pluck().all() as string[];
      for (const p of running) problems.push(`state: job for ${p} stuck running`);
      const rows = new Map(state.files.list(mapping).map((r) => [r.path, { assetId: r.assetId, sha256: r.sha256 }]));
      const pendingStamps = new Set(state.db.prepare(`SELECT asset_id FROM stamps`).pluck().all() as string[]);
      return Object.assign(rows, { pendingStamps });
    } finally {
      state.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Throws with every problem listed (a test's last line). */
export function expectMirror(o: MirrorOptions): MirrorReport {
  const r = checkMirror(o);
  if (r.problems.length > 0) {
    throw new Error(`mirror check failed (${r.problems.length} problems):\n  ${r.problems.slice(0, 40).join('\n  ')}`);
  }
  return r;
}
