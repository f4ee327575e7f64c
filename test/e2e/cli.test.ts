import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

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

describe('CLI usage, config errors and check', () => {
  it('prints help for every command and exits 2 on an unknown command or option', async () => {
    const help = await world.run(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['start', 'once', 'status', 'retry', 'check']) {
      expect(help.stdout).toContain(cmd);
      const one = await world.run([cmd, '--help']);
      expect(one.code).toBe(0);
      expect(one.stdout).toContain(`squidex-sync ${cmd}`);
    }
    expect((await world.run(['frobnicate'])).code).toBe(2);
    expect((await world.run(['once', '--no-such-flag'])).code).toBe(2);
  });

  const cases: Array<[string, (c: Record<string, any>) => void, RegExp]> = [
    ['an unknown key', (c) => (c.squidex.clientsecret = 'x'), /clientsecret.*did you mean.*clientSecret/i],
    ['a missing app', (c) => delete c.squidex.app, /squidex\.app/],
    ['a bad URL', (c) => (c.squidex.url = 'not a url'), /squidex\.url/],
    ['a local folder that does not exist', (c) => (c.mappings[0].local = './nope'), /mappings\[0\]\.local/],
    ['overlapping mappings', (c) => c.mappings.push({ local: './share/sub', remote: 'X', name: 'inner' }), /overlap|inside/i],
    ['a bad deletes value', (c) => (c.mappings[0].deletes = 'remove'), /mappings\[0\]\.deletes/],
    ['a missing environment variable', (c) => (c.squidex.clientSecret = '${NOT_SET_ANYWHERE_42}'), /NOT_SET_ANYWHERE_42/],
  ];
  for (const [name, mutate, message] of cases) {
    it(`check exits 2 with its own message for ${name}`, async () => {
      if (name.startsWith('overlapping')) {
        const { mkdirSync } = await import('node:fs');
        mkdirSync(join(world.local, 'sub'), { recursive: true });
      }
      withConfig(mutate);
      const res = await world.run(['check']);
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toContain(world.server.clientSecret);
    });
  }

  it('exits 2 on broken YAML, naming the line', async () => {
    writeFileSync(world.configPath, 'squidex:\n  url: [unclosed\n');
    const res = await world.run(['once']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/YAML syntax error at line \d+, column \d+/);
  });

  it('check exits 3 naming the cause for a wrong secret and for a wrong app, 0 when all is well', async () => {
    withConfig(() => undefined);
    const ok = await world.run(['check']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('will create the asset folder');

    withConfig((c) => (c.squidex.clientSecret = 'wrong-secret-value'));
    const badSecret = await world.run(['check']);
    expect(badSecret.code).toBe(3);
    expect(badSecret.stderr).toMatch(/client|credentials|secret/i);
    expect(badSecret.stderr).not.toContain('wrong-secret-value');

    withConfig((c) => (c.squidex.app = 'no-such-app'));
    const badApp = await world.run(['check']);
    expect(badApp.code).toBe(3);
    expect(badApp.stderr).toContain('no-such-app');
  });
});
