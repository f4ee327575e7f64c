// Two baselines measured beside `once`: the fastest upload loop a client can be (prebuilt
// bodies, no disk, no state) and the forum thread's naive loop. Shared by first-sync and pace.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';

const ROOT_FOLDER = '00000000-0000-0000-0000-000000000000';

function multipart(boundary, name, bytes) {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

export async function ceilingRun(server, token, local, paths, concurrency) {
  const boundary = '----bench-ceiling';
  const bodies = paths.map((p) => multipart(boundary, p.split('/').pop(), readFileSync(join(local, p))));
  const url = new URL(server.url);
  const pool = new Pool(url.origin, { connections: concurrency });
  const headers = { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}` };
  let next = 0;
  const started = performance.now();
  async function lane() {
    while (next < bodies.length) {
      const body = bodies[next++];
      const res = await pool.request({
        method: 'POST',
        path: `/api/apps/${server.app}/assets/${randomUUID()}?parentId=${ROOT_FOLDER}&duplicate=true`,
        headers,
        body,
      });
      await res.body.text();
      if (res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`ceiling upload: ${res.statusCode}`);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return paths.length / seconds;
}

/** What the forum thread did: read the file, build FormData, await each POST in turn. */
export async function naiveRun(server, token, local, paths) {
  const started = performance.now();
  for (const p of paths) {
    const form = new FormData();
    form.append('file', new Blob([readFileSync(join(local, p))], { type: 'application/octet-stream' }), p.split('/').pop());
    const res = await fetch(`${server.url}/api/apps/${server.app}/assets?parentId=${ROOT_FOLDER}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    await res.text();
    if (!res.ok) throw new Error(`naive upload: ${res.status}`);
  }
  return paths.length / ((performance.now() - started) / 1000);
}
