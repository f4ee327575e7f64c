import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, parseConfig } from '../../src/config/index.js';

/** sync.verifyInterval and sync.serverChanges (issue 20). */

const file = path.resolve('sync.yaml');
const yaml = (sync: string): string => `squidex: {url: https://cloud.squidex.io, app: atlas, clientId: atlas:sync, clientSecret: x}
mappings: [{local: /srv/share, remote: Shared}]
sync:
${sync}`;
const parse = (sync: string) => parseConfig(yaml(sync), { file, env: {}, checkPaths: false });
function problems(sync: string): string[] {
  try {
    parse(sync);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map((p) => p.message);
  }
  throw new Error('expected a ConfigError');
}

describe('sync.verifyInterval and sync.serverChanges', () => {
  it('default to a daily verify that reports', () => {
    const c = parse('  concurrency: 8\n');
    expect(c.sync.verifyIntervalMs).toBe(24 * 3600_000);
    expect(c.sync.serverChanges).toBe('report');
    expect(DEFAULTS.sync.verifyIntervalMs).toBe(24 * 3600_000);
  });

  it('take durations, 0 for off, and restore', () => {
    expect(parse('  verifyInterval: 6h\n').sync.verifyIntervalMs).toBe(6 * 3600_000);
    expect(parse('  verifyInterval: 90s\n').sync.verifyIntervalMs).toBe(90_000);
    expect(parse('  verifyInterval: 0\n').sync.verifyIntervalMs).toBe(0);
    expect(parse('  verifyInterval: "0"\n').sync.verifyIntervalMs).toBe(0);
    expect(parse('  serverChanges: restore\n').sync.serverChanges).toBe('restore');
  });

  it('name the key and the fix when a value is wrong', () => {
    expect(problems('  verifyInterval: daily\n')).toEqual([
      'sync.verifyInterval: expected a duration such as 24h, 6h or 30m (a bare number is seconds; 0 turns the background verify off), got "daily"',
    ]);
    expect(problems('  verifyInterval: 500ms\n')[0]).toMatch(/^sync\.verifyInterval: expected a duration/);
    expect(problems('  serverChanges: restor\n')).toEqual([
      'sync.serverChanges: expected one of report | restore, got "restor" — did you mean "restore"?',
    ]);
    expect(problems('  verifyIntervalMs: 5\n')[0]).toMatch(/^sync\.verifyIntervalMs: unknown key — did you mean "verifyInterval"\?/);
  });
});
