import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/service.js';
import { World } from '../support/world.js';

/**
 * What a newcomer runs first, as the README writes it: messages that name the
 * thing and the fix, commands that work where they are documented.
 */
let world: World;
beforeAll(async () => {
  world = await World.create();
});
afterAll(async () => {
  await world.close();
});

function withConfig(mutate: (c: Record<string, any>) => void): void {
  const c = world.config() as Record<string, any>;
  mutate(c);
  world.writeConfig(c);
}

/** The environment of a shell where only systemd's env file holds the secret. */
function noSecret(): NodeJS.ProcessEnv {
  const env = world.env();
  delete env.TEST_SQUIDEX_SECRET;
  return env;
}

describe('commands that never contact Squidex need no secret', () => {
  it('status, retry, pause, resume and confirm-deletes work without it; check, once and start name the variable', async () => {
    withConfig(() => undefined);
    world.write('a.txt', 'a');
    expect((await world.run(['once'])).code).toBe(0);
    for (const args of [['status'], ['status', '--json'], ['retry'], ['pause'], ['resume'], ['confirm-deletes']]) {
      const r = await world.run(args, 60_000, noSecret());
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
    }
    for (const cmd of ['check', 'once', 'start']) {
      const r = await world.run([cmd], 60_000, noSecret());
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toContain('environment variable TEST_SQUIDEX_SECRET is not set');
    }
  });
});

describe('messages', () => {
  it('a config error puts its footer on a line of its own', async () => {
    withConfig((c) => (c.mappings[0].deletes = 'remove'));
    const r = await world.run(['check']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/mappings\[0\]\.deletes: expected one of keep \| delete, got "remove"$/);
    expect(lines.at(-1)).toMatch(/^Fix the config/);
  });

  it('check says a server that is down cannot be reached, not that it refused a token', async () => {
    const port = await freePort();
    withConfig((c) => (c.squidex.url = `http://127.0.0.1:${port}`));
    const r = await world.run(['check']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach Squidex at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(r.stderr).not.toMatch(/grant|token/);
  });

  it('an unknown option is answered like an unknown config key, exit 2', async () => {
    withConfig(() => undefined);
    const typo = await world.run(['once', '--dryrun']);
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toBe('squidex-sync: unknown option --dryrun — did you mean --dry-run?');
    const elsewhere = await world.run(['status', '--dry-run']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('--dry-run is not an option of "status"');
    expect(elsewhere.stderr).not.toContain('parseArgs');
  });

  it('check lists every asset folder it will create, not only the first', async () => {
    withConfig((c) => (c.mappings[0].remote = 'Marketing/Shared/2026'));
    const r = await world.run(['check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('will create the asset folders "Marketing", "Marketing/Shared", "Marketing/Shared/2026"');
  });

  it('an http.port already in use is a config problem: exit 2, naming the port', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      withConfig((c) => (c.http = { port }));
      const r = await world.run(['start'], 30_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`http.port ${port} is already in use`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});

describe('status fits a terminal', () => {
  it('keeps the table within 100 columns, every column headed, the long paths below', async () => {
    withConfig((c) => (c.mappings[0].name = 'marketing-share-with-a-long-name'));
    expect((await world.run(['once'])).code).toBe(0);
    expect((await world.run(['pause'])).code).toBe(0);
    const r = await world.run(['status']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const header = lines.findIndex((l) => l.startsWith('mapping '));
    const row = lines[header + 1];
    expect(lines[header].length).toBeLessThanOrEqual(100);
    expect(row.length).toBeLessThanOrEqual(100);
    // Every cell of the row sits under a header: the last one ("paused") under "state".
    expect(lines[header].trimEnd().endsWith('state')).toBe(true);
    expect(row.indexOf('paused')).toBe(lines[header].indexOf('state'));
    expect(row).not.toContain(world.local);
    expect(r.stdout).toContain(`marketing-share-with-a-long-name: ${world.local} → Design/Shared`);
    expect((await world.run(['resume'])).code).toBe(0);
  });
});
