import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type ParseOptions } from '../../src/config/index.js';

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'cfg-paths-'));
  mkdirSync(path.join(dir, 'share', 'Marketing', 'Campaigns'), { recursive: true });
  mkdirSync(path.join(dir, 'share', 'Sales'), { recursive: true });
  mkdirSync(path.join(dir, 'state-dir'), { recursive: true });
  writeFileSync(path.join(dir, 'share', 'notes.txt'), 'x');
  writeFileSync(path.join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  writeFileSync(path.join(dir, 'not-a-cert.pem'), 'hello');
  symlinkSync(path.join(dir, 'share', 'Marketing'), path.join(dir, 'marketing-link'));
  file = path.join(dir, 'sync.yaml');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const yaml = (mappings: string, extraSquidex = '', extra = '') =>
  `squidex:\n  url: https://cloud.squidex.io\n  app: atlas\n  token: t\n${extraSquidex}mappings:\n${mappings}${extra}`;

const parse = (text: string, opts: Partial<ParseOptions> = {}) => parseConfig(text, { file, env: {}, ...opts });

function problems(text: string, opts: Partial<ParseOptions> = {}) {
  try {
    parse(text, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('mapping roots', () => {
  it('a local folder that does not exist says to mount or create it', () => {
    const ps = problems(yaml('  - { local: ./share/Missing, remote: M }\n'));
    expect(ps).toEqual([
      {
        key: 'mappings[0].local',
        message: expect.stringMatching(/^mappings\[0\]\.local: .*Missing does not exist; mount the share or create the folder/),
      },
    ]);
  });

  it('with missingLocal: allow (the running daemon) it is a warning, not an error', () => {
    const c = parse(yaml('  - { local: ./share/Missing, remote: M }\n'), { missingLocal: 'allow' });
    expect(c.warnings).toEqual([
      { key: 'mappings[0].local', message: expect.stringMatching(/does not exist \(share not mounted\?\).*delete guard/) },
    ]);
  });

  it('a local path that is a file is an error even when missing roots are allowed', () => {
    const ps = problems(yaml('  - { local: ./share/notes.txt, remote: M }\n'), { missingLocal: 'allow' });
    expect(ps.map((p) => p.message)).toEqual([expect.stringMatching(/notes\.txt is not a directory/)]);
  });

  it('checkPaths: false looks at nothing on disk', () => {
    const c = parse(yaml('  - { local: ./share/Missing, remote: M }\n', '  ca: ./nope.pem\n'), { checkPaths: false });
    expect(c.mappings[0].local).toBe(path.join(dir, 'share', 'Missing'));
    expect(c.squidex.ca).toBe(path.join(dir, 'nope.pem'));
  });
});

describe('overlapping mappings', () => {
  it('one inside the other', () => {
    const ps = problems(yaml('  - { local: ./share/Marketing, remote: A }\n  - { local: ./share/Marketing/Campaigns, remote: B }\n'));
    expect(ps).toHaveLength(1);
    expect(ps[0].key).toBe('mappings[1].local');
    expect(ps[0].message).toMatch(/lies inside mappings\[0\]\.local .*synced twice/);
  });

  it('the outer one listed second', () => {
    const ps = problems(
      yaml('  - { local: ./share/Marketing/Campaigns, remote: B }\n  - { local: ./share/Marketing, remote: A, name: m }\n'),
    );
    expect(ps.map((p) => p.message)).toEqual([expect.stringMatching(/^mappings\[1\]\.local: contains mappings\[0\]\.local/)]);
  });

  it('the same folder through a symlink (real paths are compared)', () => {
    const ps = problems(yaml('  - { local: ./share/Marketing, remote: A }\n  - { local: ./marketing-link, remote: B }\n'));
    expect(ps.map((p) => p.message)).toEqual([expect.stringMatching(/^mappings\[1\]\.local: is the same folder as mappings\[0\]\.local/)]);
  });

  it('also for roots that are not mounted right now', () => {
    const ps = problems(yaml('  - { local: ./gone, remote: A }\n  - { local: ./gone/sub, remote: B }\n'), { missingLocal: 'allow' });
    expect(ps.map((p) => p.key)).toEqual(['mappings[1].local']);
  });

  it('siblings and prefixes that are not parents do not overlap', () => {
    mkdirSync(path.join(dir, 'share', 'Marketing2'), { recursive: true });
    const c = parse(
      yaml(
        '  - { local: ./share/Marketing, remote: A }\n  - { local: ./share/Marketing2, remote: B }\n  - { local: ./share/Sales, remote: C }\n',
      ),
    );
    expect(c.mappings.map((m) => m.name)).toEqual(['marketing', 'marketing2', 'sales']);
  });

  it('overlapping remote folders are legal but warned about', () => {
    const c = parse(yaml('  - { local: ./share/Sales, remote: "" }\n  - { local: ./share/Marketing, remote: Marketing }\n'));
    expect(c.warnings.map((w) => w.key)).toEqual(['mappings[1].remote']);
  });

  it('default names that collide ask for explicit names', () => {
    mkdirSync(path.join(dir, 'other', 'sales'), { recursive: true });
    const ps = problems(yaml('  - { local: ./share/Sales, remote: A }\n  - { local: ./other/sales, remote: B }\n'));
    expect(ps.map((p) => p.message)).toEqual([
      expect.stringMatching(
        /mappings\[1\]\.name: "sales" is already the name of mappings\[0\] \(a default name is the local folder's name\)/,
      ),
    ]);
  });
});

describe('other paths', () => {
  it('a CA file must exist and be PEM', () => {
    const ok = parse(yaml('  - { local: ./share/Sales, remote: S }\n', '  ca: ./ca.pem\n'));
    expect(ok.squidex.ca).toBe(path.join(dir, 'ca.pem'));
    expect(problems(yaml('  - { local: ./share/Sales, remote: S }\n', '  ca: ./nope.pem\n'))[0].message).toMatch(
      /^squidex\.ca: .*nope\.pem does not exist; expected a PEM file/,
    );
    expect(problems(yaml('  - { local: ./share/Sales, remote: S }\n', '  ca: ./not-a-cert.pem\n'))[0].message).toMatch(
      /is not a PEM certificate file/,
    );
  });

  it('state must be a file path, not a directory', () => {
    expect(problems(yaml('  - { local: ./share/Sales, remote: S }\n', '', 'state: ./state-dir\n'))[0].message).toMatch(
      /^state: .*state-dir is a directory; expected the path of the SQLite file/,
    );
  });

  it('a state file inside a mapping is allowed (the watcher ignores it) and exposed as an absolute path', () => {
    const c = parse(yaml('  - { local: ., remote: S }\n'));
    expect(c.state).toBe(path.join(dir, '.squidex-sync', 'state.db'));
    expect(c.state.startsWith(c.mappings[0].local + path.sep)).toBe(true);
  });
});
