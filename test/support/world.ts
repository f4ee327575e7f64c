import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startTestServer, type Inspection, type TestServer, type TestServerOptions } from '../../src/testserver/index.js';
import { waitFor } from './wait.js';

export { waitFor };

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');

export function requireBuild(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm test\` (it builds with tsc first) or \`npm run build\`.`);
}

export interface WorldOptions {
  server?: TestServerOptions;
  /** Extra keys merged into the mapping. */
  mapping?: Record<string, unknown>;
  /** Extra keys merged into `sync:`. */
  sync?: Record<string, unknown>;
  /** Extra top-level keys (deleteGuard, http, …). */
  extra?: Record<string, unknown>;
  remote?: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One temp folder with a mapping root, a config file and a state file, and a
 * Squidex test server on loopback. Every test builds its own and closes it.
 */
export class World {
  readonly dir: string;
  readonly local: string;
  readonly configPath: string;
  readonly statePath: string;
  readonly procs = new Set<ChildProcess>();

  private constructor(
    readonly server: TestServer,
    private readonly opts: WorldOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'sqsync-e2e-'));
    this.local = join(this.dir, 'share');
    this.statePath = join(this.dir, 'state', 'state.db');
    this.configPath = join(this.dir, 'sync.yaml');
    mkdirSync(this.local);
    this.writeConfig();
  }

  static async create(opts: WorldOptions = {}): Promise<World> {
    requireBuild();
    return new World(await startTestServer(opts.server), opts);
  }

  config(): Record<string, unknown> {
    return {
      squidex: { url: this.server.url, app: this.server.app, clientId: this.server.clientId, clientSecret: '${TEST_SQUIDEX_SECRET}' },
      state: './state/state.db',
      mappings: [{ local: './share', remote: this.opts.remote ?? 'Design/Shared', name: 'share', ...this.opts.mapping }],
      sync: {
        stabilityMs: 300,
        debounceMs: 100,
        maxWaitMs: 2000,
        moveWindowMs: 800,
        maxAttempts: 4,
        shutdownTimeoutMs: 5000,
        ...this.opts.sync,
      },
      log: { level: 'debug' },
      // The local page is on by default at a fixed port; tests that run side by side turn it off unless they ask for one.
      http: { port: 0 },
      ...this.opts.extra,
    };
  }

  writeConfig(config: Record<string, unknown> = this.config()): void {
    writeFileSync(this.configPath, stringify(config));
  }

  write(rel: string, content: string | Buffer): string {
    const abs = join(this.local, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    return abs;
  }

  read(rel: string): Buffer {
    return readFileSync(join(this.local, rel));
  }

  rm(rel: string): void {
    rmSync(join(this.local, rel), { recursive: true, force: true });
  }

  inspect(): Inspection {
    return this.server.inspect();
  }

  env(): NodeJS.ProcessEnv {
    return { ...process.env, TEST_SQUIDEX_SECRET: this.server.clientSecret, NO_COLOR: '1' };
  }

  /** Runs one CLI command to completion (bounded by timeoutMs); `env` replaces the environment. */
  run(args: string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = this.env()): Promise<RunResult> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [CLI, ...args, '--config', this.configPath], { env, cwd: this.dir });
      this.procs.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`squidex-sync ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        this.procs.delete(child);
        resolvePromise({ code, stdout, stderr });
      });
    });
  }

  /** Starts `squidex-sync start` as a child process. */
  startDaemon(env: NodeJS.ProcessEnv = this.env()): Daemon {
    const child = spawn(process.execPath, [CLI, 'start', '--config', this.configPath], { env, cwd: this.dir });
    this.procs.add(child);
    child.on('close', () => this.procs.delete(child));
    return new Daemon(child);
  }

  async close(): Promise<void> {
    for (const p of this.procs) p.kill('SIGKILL');
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class Daemon {
  readonly lines: Array<Record<string, unknown>> = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d;
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d));
    this.exited = new Promise((r) => child.on('close', (code) => r(code)));
  }

  /** Waits until a log line matches, or fails after timeoutMs. */
  async waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return waitFor(
      () => this.lines.find(pred),
      timeoutMs,
      () => `no matching log line; stderr:\n${this.stderr}\nstdout tail:\n${this.stdout.slice(-3000)}`,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Upload requests the server has seen (create, upsert, replace, a tus upload's creation). */
export function uploadRequests(w: World): number {
  const c = w.inspect().counters.byRoute;
  // A tus upload begins with its creation request (its bytes follow in PATCHes).
  return (c['POST /assets/{id}'] ?? 0) + (c['PUT /assets/{id}/content'] ?? 0) + (c['POST /assets'] ?? 0) + (c['POST /assets/tus'] ?? 0);
}

/** Live assets on the server, keyed by their full folder path + name. */
export function liveAssetsByPath(ins: Inspection): Map<string, Inspection['assets'][number]> {
  const folders = new Map(ins.folders.filter((f) => !f.deleted).map((f) => [f.id, f]));
  const pathOf = (id: string): string => {
    const parts: string[] = [];
    let cur = folders.get(id);
    while (cur) {
      parts.unshift(cur.folderName);
      cur = folders.get(cur.parentId);
    }
    return parts.join('/');
  };
  const out = new Map<string, Inspection['assets'][number]>();
  for (const a of ins.assets.filter((x) => !x.deleted)) {
    const dir = pathOf(a.parentId);
    const key = dir ? `${dir}/${a.fileName}` : a.fileName;
    if (out.has(key)) throw new Error(`two live assets at ${key}`);
    out.set(key, a);
  }
  return out;
}
