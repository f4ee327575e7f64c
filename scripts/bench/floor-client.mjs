// The least a correct mirroring client does per file, as one process: walk the
// tree, read each file, hash it, send it (multipart, 8 at once), and record
// its asset durably (SQLite WAL, one commit per 100 files). No folders, no
// retries, no queue, no stamps. Run by floor.mjs; argv: url app token dir db.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'undici';

const [url, app, token, dir, dbFile] = process.argv.slice(2);
const ROOT_FOLDER = '00000000-0000-0000-0000-000000000000';
const db = new Database(dbFile);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE files (path TEXT PRIMARY KEY, sha256 TEXT, asset_id TEXT, version INTEGER)');
const insert = db.prepare('INSERT INTO files VALUES (?, ?, ?, ?)');
const commitBatch = db.transaction((rows) => {
  for (const r of rows) insert.run(r);
});
const paths = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => join(e.parentPath ?? e.path, e.name));
const pool = new Pool(new URL(url).origin, { connections: 8 });
const boundary = '----floor';
const headers = { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` };
let next = 0;
let pending = [];
async function lane() {
  while (next < paths.length) {
    const p = paths[next++];
    const bytes = readFileSync(p);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const name = p.slice(p.lastIndexOf('/') + 1);
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await pool.request({
      method: 'POST',
      path: `/api/apps/${app}/assets/${randomUUID()}?parentId=${ROOT_FOLDER}&duplicate=true`,
      headers,
      body,
    });
    const asset = await res.body.json();
    if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`floor upload: ${res.statusCode}`);
    pending.push([p, sha, asset.id, asset.version]);
    if (pending.length >= 100) {
      commitBatch(pending);
      pending = [];
    }
  }
}
await Promise.all(Array.from({ length: 8 }, lane));
commitBatch(pending);
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
await pool.close();
