import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { requireDist, tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());
const RACER = join(import.meta.dirname, '../fixtures', 'lock-racer.mjs');

function race(stateFile: string, n: number): Promise<string[]> {
  const startAt = Date.now() + 700; // time for every node to boot before the start line
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, [RACER, stateFile, String(startAt)], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.stdout.on('data', (d) => (out += d));
          child.stderr.on('data', (d) => (err += d));
          child.on('exit', () => {
            clearTimeout(timer);
            if (out.trim()) resolve(out.trim());
            else reject(new Error(`racer printed nothing: ${err}`));
          });
        }),
    ),
  );
}

describe('acquireLock across processes', () => {
  it('of several daemons started at once exactly one wins; the others name it', async () => {
    requireDist();
    const outcomes = await race(join(t.dir(), 'state.db'), 4);
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    for (const o of outcomes.filter((x) => x !== 'won')) expect(o).toMatch(/^STATE_LOCKED .*pid \d+/);
  });

  it('of several restarters finding the same stale lock exactly one takes it over', async () => {
    requireDist();
    const file = join(t.dir(), 'state.db');
    writeFileSync(
      `${file}.lock`,
      JSON.stringify({ pid: 2 ** 22 + 12345, hostname: hostname(), procStart: null, startedAt: 0, nonce: 'dead' }),
    );
    const outcomes = await race(file, 4);
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    for (const o of outcomes.filter((x) => x !== 'won')) expect(o).toMatch(/^STATE_LOCKED/);
  });
});
