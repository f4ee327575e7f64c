import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/index.js';

const MiB = 1024 * 1024;
const yaml = (upload: string) => `squidex:
  url: https://cloud.squidex.io/
  app: atlas
  clientId: atlas:sync
  clientSecret: x
mappings:
  - local: /tmp/share
    remote: Marketing
upload: ${upload}
`;
const parse = (upload: string) => parseConfig(yaml(upload), { file: '/tmp/sync.yaml', env: {}, checkPaths: false });

describe('config: upload.chunkBytes and upload.tusAboveBytes', () => {
  it('the threshold defaults to the chunk size', () => {
    expect(parse('{}').upload).toEqual({ maxBytesPerSecond: 0, chunkBytes: 4 * MiB, tusAboveBytes: 4 * MiB });
    expect(parse('{ chunkBytes: 1MiB }').upload).toMatchObject({ chunkBytes: MiB, tusAboveBytes: MiB });
    expect(parse('{ chunkBytes: 2MiB, tusAboveBytes: 64MiB }').upload).toMatchObject({ chunkBytes: 2 * MiB, tusAboveBytes: 64 * MiB });
    expect(parse('{ tusAboveBytes: 0 }').upload.tusAboveBytes).toBe(0);
  });

  it('a chunk below 256 KiB or above 1 GiB, or a threshold that is not a size, is named', () => {
    let err: unknown;
    try {
      parse('{ chunkBytes: 100KiB, tusAboveBytes: lots }');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const keys = (err as ConfigError).problems.map((p) => p.key);
    expect(keys).toEqual(['upload.chunkBytes', 'upload.tusAboveBytes']);
    expect((err as ConfigError).problems[0].message).toMatch(/256KiB to 1GiB.*100KiB/);
    expect(() => parse('{ chunkBytes: 2GiB }')).toThrow(ConfigError);
  });
});
