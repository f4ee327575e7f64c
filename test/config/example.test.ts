import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, parseConfig } from '../../src/config/index.js';

const file = path.resolve('sync.example.yaml');
const text = readFileSync(file, 'utf8');

describe('sync.example.yaml', () => {
  it('is a valid config whose values are the defaults', () => {
    const c = parseConfig(text, { file, env: { SQUIDEX_CLIENT_SECRET: 'x' }, checkPaths: false });
    expect(c.sync).toEqual(DEFAULTS.sync);
    expect(c.deleteGuard).toEqual(DEFAULTS.deleteGuard);
    expect(c.upload).toEqual(DEFAULTS.upload);
    expect(c.http).toEqual(DEFAULTS.http);
    expect(c.log).toEqual(DEFAULTS.log);
    expect(c.squidex.timeoutSeconds).toBe(DEFAULTS.squidex.timeoutSeconds);
    expect(c.squidex.connectTimeoutSeconds).toBe(DEFAULTS.squidex.connectTimeoutSeconds);
    expect(c.state).toBe(path.resolve(path.dirname(file), DEFAULTS.state));
    const { name: _name, local: _local, remote: _remote, ...rest } = c.mappings[0];
    expect(rest).toEqual(DEFAULTS.mapping);
  });

  it('documents every key', () => {
    const keys = [
      ...['url', 'allowInsecureHttp', 'app', 'clientId', 'clientSecret', 'token', 'ca', 'timeoutSeconds', 'connectTimeoutSeconds'],
      ...['state', 'local', 'remote', 'name', 'deletes', 'permanentDeletes', 'watch', 'rescanInterval', 'ignore', 'ignoreDefaults'],
      ...['tags', 'folderTags', 'embeddedMetadata'],
      ...Object.keys(DEFAULTS.sync).map((k) => (k === 'verifyIntervalMs' ? 'verifyInterval' : k)),
      ...Object.keys(DEFAULTS.deleteGuard),
      ...Object.keys(DEFAULTS.upload),
      ...Object.keys(DEFAULTS.http),
      ...Object.keys(DEFAULTS.log),
    ];
    for (const k of keys) expect(text, k).toMatch(new RegExp(`^\\s*(#\\s*)?(- )?${k}:`, 'm'));
  });
});
