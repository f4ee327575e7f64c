/** Regression tests from the review of the first-sync work (claim-time asset ids, claiming ahead, stamps, the clean-close marker): a real test server and runtime. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import type { Clock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/log.js';
import { openRuntime, type Runtime } from '../../src/cli/runtime.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../../src/testserver/index.js';

export interface Rig {
  server: TestServer;
  dir: string;
  local: string;
  rt: Runtime;
  cleanup(): Promise<void>;
}

export async function rig(
  opts: {
    server?: TestServerOptions;
    sync?: Record<string, unknown>;
    mapping?: Record<string, unknown>;
    setup?: (local: string) => void;
    clock?: Clock;
  } = {},
): Promise<Rig> {
  const server = await startTestServer(opts.server);
  const dir = mkdtempSync(join(tmpdir(), 'sqsync-regress-'));
  const local = join(dir, 'share');
  mkdirSync(local);
  opts.setup?.(local);
  const cfg = {
    squidex: { url: server.url, app: server.app, clientId: server.clientId, clientSecret: server.clientSecret },
    state: './state/state.db',
    sync: { backoffBaseMs: 50, backoffMaxMs: 200, ...opts.sync },
    mappings: [{ name: 'm', local, remote: 'M', ...opts.mapping }],
  };
  const file = join(dir, 'sync.yaml');
  writeFileSync(file, stringify(cfg));
  const config = loadConfig(file, process.env, { missingLocal: 'allow' });
  const rt = openRuntime(config, { logger: silentLogger, clock: opts.clock });
  return {
    server,
    dir,
    local,
    rt,
    async cleanup() {
      await rt.close().catch(() => undefined);
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
