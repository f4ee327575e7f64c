/** `npm run fake-squidex` as a child process: first stdout line is JSON, SIGTERM stops it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDARY, file, getToken, multipart } from './testserver-helpers.js';

const SRC = new URL('../src/testserver/', import.meta.url).pathname;
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
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => (children.delete(child), resolve(code))));
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
});
