import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { requireDist, tempStates } from '../support/state.js';

const t = tempStates();
afterEach(() => t.cleanup());
const RACER = join(import.meta.dirname, '../fixtures', 'lock-racer.mjs');

/** `lateMs`: the last racer tries that much after the others, as one booting slowly on a loaded machine. */
async function race(stateFile: string, n: number, lateMs = 0): Promise<string[]> {
  const startAt = Date.now() + 700; // time for every node to boot before the start line
  const children = Array.from({ length: n }, (_, i) =>
    spawn(process.execPath, [RACER, stateFile, String(startAt + (i === n - 1 ? lateMs : 0))], { stdio: ['pipe', 'pipe', 'pipe'] }),
  );
  const exited = children.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
  const timers = children.map((child) => setTimeout(() => child.kill('SIGKILL'), 15_000));
  try {
    // Each racer's first line is its outcome; a winner keeps the lock until its stdin closes.
    return await Promise.all(
      children.map(
        (child) =>
          new Promise<string>((resolve, reject) => {
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => {
              out += d;
              if (out.includes('\n')) resolve(out.trim());
            });
            child.stderr.on('data', (d) => (err += d));
            child.once('exit', () => reject(new Error(`racer printed nothing: ${err}`)));
          }),
      ),
    );
  } finally {
    for (const child of children) child.stdin.end();
    await Promise.all(exited);
    for (const timer of timers) clearTimeout(timer);
  }
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

  it('a racer that comes late still finds the winner holding the lock', async () => {
    requireDist();
    const outcomes = await race(join(t.dir(), 'state.db'), 3, 2500);
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes[2]).toMatch(/^STATE_LOCKED .*pid \d+/);
  });
});
