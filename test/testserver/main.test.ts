/** `npm run fake-squidex` as a child process: first stdout line is JSON, SIGTERM stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDARY, file, getToken, multipart } from '../support/testserver.js';

const SRC = new URL('../../src/testserver/', import.meta.url).pathname;
let dir: string;
const children = new Set<ChildProcess>();

/** Transpiles src/testserver alone (no type check), so the test needs no project build. */
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fake-squidex-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  for (const name of readdirSync(SRC).filter((n) => n.endsWith('.ts'))) {
    const out = ts.transpileModule(readFileSync(join(SRC, name), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2023 },
      fileName: name,
    });
    writeFileSync(join(dir, name.replace(/\.ts$/, '.js')), out.outputText);
  }
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): { child: ChildProcess; firstLine: Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [join(dir, 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const firstLine = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error('exited before printing')));
  });
  return { child, firstLine, exit };
}

describe('test server: fake-squidex process', () => {
  it('prints one JSON line first, serves with its options, and stops on SIGTERM', async () => {
    const p = run(['--port', '0', '--max-upload', '300', '--seed', '3', '--token-lifetime', '60', '--no-keep-bytes']);
    const info = JSON.parse(await p.firstLine) as { url: string; app: string; clientId: string; clientSecret: string };
    expect(info).toMatchObject({ app: 'demo', clientId: 'demo:sync', clientSecret: 'demo-secret' });
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const token = await getToken(info);
    const tokenRes = await fetch(`${info.url}/identity-server/connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=demo:sync&client_secret=demo-secret`,
    });
    expect(((await tokenRes.json()) as { expires_in: number }).expires_in).toBe(60);
    const upload = (data: string) =>
      fetch(`${info.url}/api/apps/demo/assets`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
        body: multipart([file('a.txt', data)]),
      });
    expect((await upload('x'.repeat(400))).status).toBe(413);
    expect((await upload('small')).status).toBe(201);
    const inspected = (await (await fetch(`${info.url}/_test/inspect`)).json()) as { assets: { sha256: string }[] };
    expect(inspected.assets).toHaveLength(1);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });

  it('exits 2 on a bad option', async () => {
    const p = run(['--port', 'abc']);
    p.firstLine.catch(() => undefined);
    expect(await p.exit).toBe(2);
  });

  it('--help lists every option, faults included, and exits 0', async () => {
    const p = run(['--help']);
    const text = await new Promise<string>((resolve) => {
      let out = '';
      p.child.stdout!.on('data', (d) => (out += d));
      p.child.once('close', () => resolve(out));
    });
    expect(await p.exit).toBe(0);
    for (const o of [
      '--port N',
      'default 5055',
      '--app',
      '--client-id',
      '--client-secret',
      '--max-upload',
      '--token-lifetime',
      '--no-bulk',
      '--rate-5xx',
      '--rate-429',
      '--retry-after',
      '--latency',
      '--reset-rate',
      '--hang-rate',
      '--down',
      '--capacity',
      '--service-ms',
      '--max-rps',
    ]) {
      expect(text).toContain(o);
    }
  });

  it('listens on its documented default port when none is given', async () => {
    const p = run([]);
    const info = JSON.parse(await p.firstLine) as { url: string };
    expect(info.url).toBe('http://127.0.0.1:5055');
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
  });

  it('takes the fault switches as options', async () => {
    const p = run([
      '--port',
      '0',
      '--rate-5xx',
      '1',
      '--latency',
      '5',
      '--seed',
      '9',
      '--capacity',
      '16',
      '--service-ms',
      '30',
      '--max-rps',
      '50',
    ]);
    const info = JSON.parse(await p.firstLine) as { url: string; app: string; clientId: string; clientSecret: string };
    const faults = (await (await fetch(`${info.url}/_test/faults`)).json()) as Record<string, unknown>;
    expect(faults).toMatchObject({ rate5xx: 1, latencyMs: 5, rate429: 0, capacity: 16, serviceMs: 30, maxRequestsPerSecond: 50 });
    const res = await fetch(`${info.url}/api/apps/demo/assets/folders`);
    expect(res.status).toBeGreaterThanOrEqual(500);
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);

    const down = run(['--port', '0', '--down']);
    const at = (JSON.parse(await down.firstLine) as { url: string }).url;
    await expect(fetch(`${at}/api/apps/demo/assets/folders`)).rejects.toThrow();
    down.child.kill('SIGTERM');
    expect(await down.exit).toBe(0);
  });

  it('refuses a fault rate above 1 with exit 2', async () => {
    const p = run(['--rate-429', '1.5']);
    p.firstLine.catch(() => undefined);
    expect(await p.exit).toBe(2);
  });
});
