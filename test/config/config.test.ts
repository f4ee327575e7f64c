import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig, parseConfig, type ParseOptions } from '../../src/config/index.js';
import { SyncError } from '../../src/lib/errors.js';

let dir: string;
let file: string;
const SECRET = 's3cr3t:#"value-NEVER-SHOWN';
const env = { SQUIDEX_CLIENT_SECRET: SECRET, HOME: '/home/designer' };

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  mkdirSync(path.join(dir, 'share', 'Marketing'), { recursive: true });
  mkdirSync(path.join(dir, 'share', 'Sales'), { recursive: true });
  file = path.join(dir, 'sync.yaml');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const yaml = (mappings = '  - local: ./share/Marketing\n    remote: Marketing/Shared\n', extra = '') =>
  `squidex:
  url: https://cloud.squidex.io/
  app: atlas
  clientId: atlas:sync
  clientSecret: \${SQUIDEX_CLIENT_SECRET}
mappings:
${mappings}${extra}`;

const parse = (text: string, opts: Partial<ParseOptions> = {}) => parseConfig(text, { file, env, ...opts });

/** The problems of a config that must fail. */
function problems(text: string, opts: Partial<ParseOptions> = {}) {
  try {
    parse(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

function onlyProblem(text: string, opts: Partial<ParseOptions> = {}) {
  const ps = problems(text, opts);
  expect(ps.map((p) => p.message)).toHaveLength(1);
  return ps[0];
}

describe('a valid config', () => {
  it('fills every default and resolves paths against the config folder', () => {
    const c = parse(yaml());
    expect(c.squidex).toEqual({
      url: 'https://cloud.squidex.io',
      app: 'atlas',
      clientId: 'atlas:sync',
      clientSecret: SECRET,
      timeoutSeconds: 60,
      connectTimeoutSeconds: 60,
      allowInsecureHttp: false,
    });
    expect(c.state).toBe(path.join(dir, '.squidex-sync', 'state.db'));
    expect(c.mappings).toEqual([
      {
        name: 'marketing',
        local: path.join(dir, 'share', 'Marketing'),
        remote: 'Marketing/Shared',
        deletes: 'keep',
        permanentDeletes: false,
        watch: 'auto',
        rescanIntervalMs: 'auto',
        ignore: [],
        ignoreDefaults: true,
        tags: [],
        folderTags: false,
        embeddedMetadata: true,
      },
    ]);
    expect(c.sync).toEqual(DEFAULTS.sync);
    expect(c.deleteGuard).toEqual(DEFAULTS.deleteGuard);
    expect(c.upload).toEqual({ maxBytesPerSecond: 0, chunkBytes: 4 * 1024 * 1024, tusAboveBytes: 4 * 1024 * 1024 });
    expect(c.http).toEqual({ port: 7463, host: '127.0.0.1', healthProbeSeconds: 60 });
    expect(c.log).toEqual({ level: 'info' });
    expect(c.file).toBe(file);
    expect(c.dir).toBe(dir);
    expect(c.warnings).toEqual([]);
  });

  it('reads every optional key', () => {
    const c = parse(
      yaml(
        `  - local: ~/Designs\n    remote: /Sales//2025/\n    deletes: delete\n    permanentDeletes: true\n    watch: poll\n    rescanInterval: 1h30m\n    ignore: ["*.bak", "drafts/**"]\n    ignoreDefaults: false\n    name: Sales-2025\n    tags: [brand, " 2026 ", brand]\n    folderTags: true\n    embeddedMetadata: false\n`,
        `state: /var/lib/squidex-sync/state.db
sync: { concurrency: 6, stabilityMs: 500, debounceMs: 200, maxWaitMs: 5000, maxAttempts: 3, moveWindowMs: 4000, shutdownTimeoutMs: 1000 }
deleteGuard: { enabled: false, maxShare: 0.25, minFiles: 5, settleMs: 3000 }
upload: { maxBytesPerSecond: 10MiB }
http: { port: 9464, host: localhost }
log: { level: debug }
`,
      ),
      { checkPaths: false },
    );
    expect(c.mappings[0]).toMatchObject({
      name: 'Sales-2025',
      local: '/home/designer/Designs',
      remote: 'Sales/2025',
      deletes: 'delete',
      permanentDeletes: true,
      watch: 'poll',
      rescanIntervalMs: 5_400_000,
      ignore: ['*.bak', 'drafts/**'],
      ignoreDefaults: false,
      tags: ['brand', '2026'],
      folderTags: true,
      embeddedMetadata: false,
    });
    expect(c.state).toBe('/var/lib/squidex-sync/state.db');
    expect(c.sync.concurrency).toBe(6);
    expect(c.upload.maxBytesPerSecond).toBe(10 * 1024 * 1024);
    expect(c.http).toEqual({ port: 9464, host: 'localhost', healthProbeSeconds: 60 });
    expect(c.deleteGuard).toEqual({ enabled: false, maxShare: 0.25, minFiles: 5, settleMs: 3000 });
    // Legal, but the guard being off while deletes propagate deserves a word.
    expect(c.warnings.map((w) => w.key)).toEqual(['deleteGuard.enabled']);
  });

  it('normalises remote paths; "" and "/" are the app root', () => {
    for (const [raw, want] of [
      ['""', ''],
      ['/', ''],
      ['./A/./B/', 'A/B'],
      ['A//B', 'A/B'],
    ]) {
      expect(parse(yaml(`  - local: ./share/Marketing\n    remote: ${raw}\n`)).mappings[0].remote).toBe(want);
    }
  });

  it('accepts durations as strings or seconds, and a token instead of a client', () => {
    const c = parse(
      `squidex: { url: "http://localhost:5000", app: demo, token: "\${TOKEN}" }\nmappings:\n  - { local: ./share/Sales, remote: "", rescanInterval: 90 }\n  - { local: ./share/Marketing, remote: M, rescanInterval: 15m }\n`,
      { env: { TOKEN: 'tok' } },
    );
    expect(c.squidex.token).toBe('tok');
    expect(c.squidex.clientId).toBeUndefined();
    expect(c.mappings.map((m) => m.rescanIntervalMs)).toEqual([90_000, 900_000]);
  });
});

describe('environment substitution', () => {
  it('substitutes after parsing, so a secret full of YAML syntax stays one string', () => {
    expect(parse(yaml()).squidex.clientSecret).toBe(SECRET);
  });

  it('keeps $${ as a literal ${ and substitutes inside longer strings', () => {
    const c = parse(yaml(`  - local: ./share/\${TEAM}\n    remote: "$\${literal}/\${TEAM}"\n`), { env: { ...env, TEAM: 'Sales' } });
    expect(c.mappings[0].local).toBe(path.join(dir, 'share', 'Sales'));
    expect(c.mappings[0].remote).toBe('${literal}/Sales');
  });

  it('names the missing variable and the key that uses it', () => {
    const p = onlyProblem(yaml(), { env: {} });
    expect(p.key).toBe('squidex.clientSecret');
    expect(p.message).toMatch(/squidex\.clientSecret: environment variable SQUIDEX_CLIENT_SECRET is not set/);
  });

  it('coerces substituted numbers', () => {
    expect(parse(yaml(undefined, 'http: { port: "${PORT}" }\n'), { env: { ...env, PORT: '9464' } }).http.port).toBe(9464);
  });
});

describe('one message per problem, naming the key and the expected value', () => {
  it('a YAML syntax error names line and column', () => {
    const p = onlyProblem('squidex:\n  url: [https://x\nmappings: []\n');
    expect(p.message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
  });

  it('an unknown key suggests the near miss', () => {
    const p = onlyProblem(yaml().replace('clientSecret:', 'clientsecret:'));
    expect(p.key).toBe('squidex.clientsecret');
    expect(p.message).toContain('did you mean "clientSecret"?');
    // onlyProblem: the typo is not reported a second time as "clientSecret: missing".
  });

  it('an unknown key far from any known one lists the known keys', () => {
    expect(onlyProblem(yaml(undefined, 'sync: { parallel: 3 }\n')).message).toMatch(
      /sync\.parallel: unknown key \(known keys here: concurrency, /,
    );
  });

  it('a missing required key', () => {
    const p = onlyProblem(yaml().replace('  app: atlas\n', ''));
    expect(p.message).toMatch(/^squidex\.app: missing; the name of the Squidex app/);
  });

  it('missing mappings', () => {
    expect(onlyProblem(yaml().replace(/mappings:\n.*$/s, '')).message).toMatch(/^mappings: missing; add at least one entry/);
    expect(onlyProblem(yaml('  []\n').replace('mappings:\n  []', 'mappings: []')).message).toMatch(/^mappings: is empty/);
  });

  it('a wrong type', () => {
    expect(onlyProblem(yaml(undefined, 'sync: { concurrency: four }\n')).message).toBe(
      'sync.concurrency: expected auto (find the server\'s pace) or a whole number from 1 to 64, got "four"',
    );
  });

  it('sync.concurrency: auto by default, a number 1..64 pins it, anything else is refused', () => {
    expect(parse(yaml()).sync.concurrency).toBe('auto');
    expect(parse(yaml(undefined, 'sync: { concurrency: auto }\n')).sync.concurrency).toBe('auto');
    expect(parse(yaml(undefined, 'sync: { concurrency: 12 }\n')).sync.concurrency).toBe(12);
    expect(onlyProblem(yaml(undefined, 'sync: { concurrency: 65 }\n')).message).toBe(
      'sync.concurrency: expected a whole number from 1 to 64, got 65',
    );
    expect(onlyProblem(yaml(undefined, 'sync: { concurrency: Auto }\n')).message).toMatch(/^sync\.concurrency: expected auto/);
  });

  it('a number out of range', () => {
    expect(onlyProblem(yaml(undefined, 'deleteGuard: { maxShare: 1.5 }\n')).message).toMatch(
      /deleteGuard\.maxShare: expected a number from 0 to 1, got 1.5/,
    );
  });

  it('a bad enum names the key inside the list', () => {
    const p = onlyProblem(yaml(`  - { local: ./share/Marketing, remote: M }\n  - { local: ./share/Sales, remote: S, deletes: remove }\n`));
    expect(p.key).toBe('mappings[1].deletes');
    expect(p.message).toBe('mappings[1].deletes: expected one of keep | delete, got "remove"');
  });

  it('a bad URL', () => {
    expect(onlyProblem(yaml().replace('https://cloud.squidex.io/', 'cloud.squidex.io')).message).toMatch(
      /squidex\.url: expected an http\(s\) URL/,
    );
    expect(onlyProblem(yaml().replace('https://cloud.squidex.io/', 'ftp://cloud.squidex.io')).message).toMatch(/got a ftp URL/);
  });

  it('plain http to another machine, and says why', () => {
    const text = yaml().replace('https://cloud.squidex.io/', 'http://squidex.office.lan');
    expect(onlyProblem(text).message).toMatch(/plain http is allowed only for this machine.*secret.*in clear/);
    expect(parse(text.replace('  app:', '  allowInsecureHttp: true\n  app:')).squidex.url).toBe('http://squidex.office.lan');
    expect(parse(yaml().replace('https://cloud.squidex.io/', 'http://127.0.0.1:5000/squidex/')).squidex.url).toBe(
      'http://127.0.0.1:5000/squidex',
    );
  });

  it('a bad app name', () => {
    expect(onlyProblem(yaml().replace('app: atlas', 'app: Atlas_App')).message).toMatch(/squidex\.app: expected a Squidex app name/);
  });

  it('a bad duration', () => {
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: M, rescanInterval: 1 hour }\n')).message).toMatch(
      /mappings\[0\]\.rescanInterval: expected auto or a duration of at least 1s such as 90s, 15m or 1h/,
    );
  });

  it('a bad remote', () => {
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: A/../B }\n')).message).toMatch(
      /mappings\[0\]\.remote: must not contain "\.\."/,
    );
    expect(onlyProblem(yaml('  - { local: ./share/Marketing }\n')).message).toMatch(
      /mappings\[0\]\.remote: missing; .*"" or \/ for the app root/,
    );
  });

  it('a bad ignore glob', () => {
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: M, ignore: ["/abs/*"] }\n')).key).toBe('mappings[0].ignore[0]');
  });

  it('bad tags, folderTags and embeddedMetadata', () => {
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: M, tags: { a: 1 } }\n')).message).toMatch(
      /mappings\[0\]\.tags: expected a list of tags/,
    );
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: M, tags: [ok, ""] }\n')).key).toBe('mappings[0].tags[1]');
    expect(onlyProblem(yaml(`  - { local: ./share/Marketing, remote: M, tags: [${'x'.repeat(201)}] }\n`)).message).toMatch(/at most 200/);
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: M, folderTags: maybe }\n')).message).toMatch(
      /mappings\[0\]\.folderTags: expected true or false/,
    );
    expect(onlyProblem(yaml('  - { local: ./share/Marketing, remote: M, embeddedMetadata: 1 }\n')).key).toBe(
      'mappings[0].embeddedMetadata',
    );
  });

  it('token together with a client', () => {
    expect(onlyProblem(yaml().replace('  app:', '  token: t\n  app:')).message).toBe(
      'squidex.token: set either token or clientId + clientSecret, not both',
    );
  });

  it('duplicate mapping names', () => {
    const p = onlyProblem(yaml(`  - { local: ./share/Marketing, remote: A }\n  - { local: ./share/Sales, remote: B, name: marketing }\n`));
    expect(p.key).toBe('mappings[1].name');
    expect(p.message).toMatch(/"marketing" is already the name of mappings\[0\]/);
  });

  it('an http host that is not loopback', () => {
    expect(onlyProblem(yaml(undefined, 'http: { port: 9464, host: 0.0.0.0 }\n')).message).toMatch(
      /http\.host: expected a loopback address/,
    );
  });

  it('maxWaitMs below debounceMs', () => {
    expect(onlyProblem(yaml(undefined, 'sync: { debounceMs: 5000, maxWaitMs: 1000 }\n')).key).toBe('sync.maxWaitMs');
  });

  it('collects every problem at once and lists them one per line', () => {
    const text = `squidex:\n  url: nope\n  clientSecret: 12345\nmappings:\n  - { local: ./missing, remote: M, watch: inotify }\nlog: { level: loud }\n`;
    try {
      parse(text);
      throw new Error('expected a ConfigError');
    } catch (e) {
      const err = e as ConfigError;
      expect(err).toBeInstanceOf(SyncError);
      expect(err.code).toBe('CONFIG_INVALID');
      expect(err.problems.map((p) => p.key).sort()).toEqual(
        [
          'log.level',
          'mappings[0].local',
          'mappings[0].watch',
          'squidex.app',
          'squidex.clientId',
          'squidex.clientSecret',
          'squidex.url',
        ].sort(),
      );
      const lines = err.message.split('\n');
      expect(lines[0]).toBe(`${file}: 7 problems in the config`);
      for (const p of err.problems) expect(lines).toContain(`  - ${p.message}`);
    }
  });
});

describe('secrets', () => {
  it('no problem message ever contains the secret value', () => {
    const cases = [
      // wrong type: an unquoted number
      { text: yaml().replace('${SQUIDEX_CLIENT_SECRET}', '918273645546372819'), secret: '918273645546372819' },
      // a list where a string belongs
      { text: yaml().replace('${SQUIDEX_CLIENT_SECRET}', '[hunter2-secret]'), secret: 'hunter2-secret' },
      // under a misspelt key
      { text: yaml().replace('clientSecret: ${SQUIDEX_CLIENT_SECRET}', 'clientsecret: hunter2-secret'), secret: 'hunter2-secret' },
      // a token with a broken line of YAML
      { text: yaml().replace('  app: atlas', '  app: atlas\n  token: hunter2: secret'), secret: 'hunter2' },
      // a URL with credentials
      { text: yaml().replace('https://cloud.squidex.io/', 'https://me:hunter2-secret@cloud.squidex.io'), secret: 'hunter2-secret' },
      // substituted secret next to other problems
      { text: yaml('  - { local: ./missing, remote: M }\n', 'sync: { concurrency: 0 }\n'), secret: SECRET },
    ];
    for (const { text, secret } of cases) {
      let err: unknown;
      try {
        parse(text);
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain(secret);
      expect(JSON.stringify((err as ConfigError).problems)).not.toContain(secret);
    }
  });
});

describe('loadConfig', () => {
  it('reads a file and resolves relative paths against its folder', () => {
    const sub = path.join(dir, 'etc');
    mkdirSync(sub, { recursive: true });
    const f = path.join(sub, 'sync.yaml');
    writeFileSync(f, yaml('  - { local: ../share/Sales, remote: Sales }\n', 'state: state/db.sqlite\n'));
    const c = loadConfig(f, env);
    expect(c.mappings[0].local).toBe(path.join(dir, 'share', 'Sales'));
    expect(c.state).toBe(path.join(sub, 'state', 'db.sqlite'));
  });

  it('a missing file is a ConfigError that says what to do', () => {
    expect(() => loadConfig(path.join(dir, 'nope.yaml'), env)).toThrow(/does not exist; pass --config FILE or copy sync.example.yaml/);
  });

  it('an empty file', () => {
    expect(onlyProblem('# nothing\n').message).toMatch(/empty/);
  });
});

describe('helpful extras', () => {
  it('a duration where milliseconds belong says the number to write', () => {
    expect(onlyProblem(yaml(undefined, 'sync: { stabilityMs: 2s }\n')).message).toBe(
      'sync.stabilityMs: expected a whole number of milliseconds, got "2s"; write 2000 for that',
    );
  });

  it('a mapping with a bad remote still gets its local folder checked', () => {
    expect(problems(yaml('  - { local: ./missing, remote: "../x" }\n')).map((p) => p.key)).toEqual([
      'mappings[0].remote',
      'mappings[0].local',
    ]);
  });
});
