import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Agent, parseHeaders } from '../../src/squidex/undici.js';

// src/squidex/undici.ts loads two files of undici by path, not its index: they must
// stay what the index exports, or an upgrade that moves them would go unnoticed.
describe('undici pieces', () => {
  it('are the objects undici exports', () => {
    const undici = createRequire(import.meta.url)('undici') as typeof import('undici');
    expect(Agent).toBe(undici.Agent);
    expect(parseHeaders).toBe(undici.util.parseHeaders);
  });
});
