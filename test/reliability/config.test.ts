/**
 * Scenario 9 of issue 6: bad configuration. Every invalid key or value has its
 * own message naming the key, and exit 2; a valid config pointing at the wrong
 * app or secret exits 3 saying which. Extends test/e2e-cli.test.ts (whose
 * cases are not repeated here) to every section and to `start` and `once`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

let world: World;
beforeAll(async () => {
  world = await World.create();
});
afterAll(async () => {
  await world.close();
});

type Cfg = Record<string, any>;
function withConfig(mutate: (c: Cfg) => void): void {
  const c = world.config() as Cfg;
  mutate(c);
  world.writeConfig(c);
}

const cases: Array<[string, (c: Cfg) => void, RegExp]> = [
  ['squidex.timeoutSeconds 0', (c) => (c.squidex.timeoutSeconds = 0), /squidex\.timeoutSeconds/],
  ['squidex.timeoutSeconds not a number', (c) => (c.squidex.timeoutSeconds = 'soon'), /squidex\.timeoutSeconds/],
  ['squidex.app not an app name', (c) => (c.squidex.app = 'Bad_App'), /squidex\.app/],
  ['plain http to a remote host', (c) => (c.squidex.url = 'http://squidex.example.com'), /squidex\.url/],
  ['token and client credentials together', (c) => (c.squidex.token = 'abc'), /squidex\.token/],
  ['a CA file that does not exist', (c) => (c.squidex.ca = './no-such-ca.pem'), /squidex\.ca/],
  ['a state path that is not a string', (c) => (c.state = 42), /state/],
  ['no mappings', (c) => (c.mappings = []), /mappings/],
  ['mappings not a list', (c) => (c.mappings = 'share'), /mappings/],
  ['a mapping without local', (c) => delete c.mappings[0].local, /mappings\[0\]\.local/],
  ['a bad watch mode', (c) => (c.mappings[0].watch = 'inotify'), /mappings\[0\]\.watch/],
  ['a bad rescanInterval', (c) => (c.mappings[0].rescanInterval = 'often'), /mappings\[0\]\.rescanInterval/],
  ['a negated ignore glob', (c) => (c.mappings[0].ignore = ['!keep.me']), /mappings\[0\]\.ignore\[0\].*negation/],
  ['an ignore glob that ignores everything', (c) => (c.mappings[0].ignore = ['**']), /mappings\[0\]\.ignore\[0\]/],
  ['a bad mapping name', (c) => (c.mappings[0].name = 'bad name!'), /mappings\[0\]\.name/],
  ['two mappings with one name', (c) => c.mappings.push({ ...c.mappings[0], local: '.', remote: 'Other' }), /name|overlap|inside/i],
  ['sync.concurrency 0', (c) => (c.sync.concurrency = 0), /sync\.concurrency/],
  ['sync.concurrency 65', (c) => (c.sync.concurrency = 65), /sync\.concurrency/],
  ['sync.stabilityMs negative', (c) => (c.sync.stabilityMs = -1), /sync\.stabilityMs/],
  ['sync.maxWaitMs below debounceMs', (c) => Object.assign(c.sync, { debounceMs: 5000, maxWaitMs: 1000 }), /sync\.maxWaitMs/],
  [
    'sync.backoffMaxMs below backoffBaseMs',
    (c) => Object.assign(c.sync, { backoffBaseMs: 5000, backoffMaxMs: 1000 }),
    /sync\.backoffMaxMs/,
  ],
  ['an unknown sync key', (c) => (c.sync.concurency = 4), /sync\.concurency|concurency/],
  ['deleteGuard.maxShare above 1', (c) => (c.deleteGuard = { maxShare: 1.5 }), /deleteGuard\.maxShare/],
  ['deleteGuard.enabled not a boolean', (c) => (c.deleteGuard = { enabled: 'yes' }), /deleteGuard\.enabled/],
  ['upload.maxBytesPerSecond not a size', (c) => (c.upload = { maxBytesPerSecond: 'fast' }), /upload\.maxBytesPerSecond/],
  ['http.port out of range', (c) => (c.http = { port: 70000 }), /http\.port/],
  ['http.host not loopback', (c) => (c.http = { port: 9999, host: '0.0.0.0' }), /http\.host/],
  ['log.level unknown', (c) => (c.log.level = 'verbose'), /log\.level/],
  ['an unknown top-level key', (c) => (c.mapping = c.mappings), /mapping\b.*mappings|unknown/i],
];

describe('bad configuration: its own message and exit 2', () => {
  for (const [name, mutate, message] of cases) {
    it(name, async () => {
      withConfig(mutate);
      const res = await world.run(['check']);
      expect(res.code, res.stdout + res.stderr).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr).not.toContain(world.server.clientSecret);
    });
  }

  it('lists every problem of one file at once, each with its key', async () => {
    withConfig((c) => {
      c.sync.concurrency = 0;
      c.log.level = 'loud';
      c.mappings[0].deletes = 'remove';
    });
    const res = await world.run(['start']);
    expect(res.code).toBe(2);
    for (const key of [/sync\.concurrency/, /log\.level/, /mappings\[0\]\.deletes/]) expect(res.stderr).toMatch(key);
  });

  it('a missing, empty or non-mapping config file', async () => {
    for (const body of ['', '- just\n- a list\n', 'squidex: 12\n']) {
      writeFileSync(world.configPath, body);
      const res = await world.run(['once']);
      expect(res.code, `${JSON.stringify(body)}: ${res.stderr}`).toBe(2);
      expect(res.stderr.length).toBeGreaterThan(10);
    }
    rmSync(world.configPath);
    const missing = await world.run(['status']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(world.configPath);
  });

  it('a "billion laughs" file (aliases past the YAML limit) is a config error, for check and start', async () => {
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const body = `${levels
      .map(
        (l, i) =>
          `${l}: &${l} [${Array(9)
            .fill(i === 0 ? '"lol"' : `*${levels[i - 1]}`)
            .join(', ')}]`,
      )
      .join('\n')}\n`;
    writeFileSync(world.configPath, body);
    for (const cmd of ['check', 'start']) {
      const res = await world.run([cmd]);
      // Exit 1 would make systemd restart it forever; 2 is never restarted.
      expect(res.code, `${cmd}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toContain(world.configPath);
      expect(res.stderr).toMatch(/aliases .* too often/);
    }
  });
});

describe('valid config, wrong Squidex: exit 3 naming which', () => {
  for (const cmd of ['once', 'start']) {
    it(`${cmd}: a wrong secret and a wrong app exit 3 (not a retry loop)`, { timeout: 60_000 }, async () => {
      world.write('a.txt', 'x');
      withConfig((c) => (c.squidex.clientSecret = 'wrong-secret-value'));
      const badSecret = await world.run([cmd], 30_000);
      expect(badSecret.code, badSecret.stdout.slice(-1000) + badSecret.stderr).toBe(3);
      expect(badSecret.stderr).toMatch(/secret|credentials|client/i);
      expect(badSecret.stdout + badSecret.stderr).not.toContain('wrong-secret-value');

      withConfig((c) => (c.squidex.app = 'no-such-app'));
      const badApp = await world.run([cmd], 30_000);
      expect(badApp.code, badApp.stdout.slice(-1000) + badApp.stderr).toBe(3);
      expect(badApp.stderr).toContain('no-such-app');
    });
  }
});
