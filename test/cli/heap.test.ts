import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandOf } from '../../src/cli/heap.js';

const ROOT = join(import.meta.dirname, '../..');

describe('commandOf', () => {
  it('finds the command past options and --config FILE', () => {
    expect(commandOf(['start'])).toBe('start');
    expect(commandOf(['--config', 'start', 'once'])).toBe('once');
    expect(commandOf(['-c', 'x.yaml', 'start'])).toBe('start');
    expect(commandOf(['--config=x.yaml', 'start'])).toBe('start');
    expect(commandOf(['--help'])).toBeUndefined();
  });
});

// The young generation's size after churning through short-lived objects, as main.ts's first import leaves it.
const PROBE = `
await import(process.argv[1]);
const { getHeapSpaceStatistics } = await import('node:v8');
const keep = [];
for (let i = 0; i < 2e6; i++) { const o = { i, s: 'x' + i }; if (i % 50 === 0) keep.push(o); }
console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20);
`;
const youngMib = (...argv: string[]): number =>
  Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', PROBE, join(ROOT, 'dist', 'cli', 'heap.js'), ...argv], {
      encoding: 'utf8',
      timeout: 60_000,
    }),
  );

// Later V8s hold the growth factor at 2 or more: there the flag is a no-op, and so is this test.
describe.runIf(process.versions.node.startsWith('20.'))('the young generation of `start`', () => {
  it('stays at its starting size for start, and grows as V8 likes for the other commands', () => {
    const daemon = youngMib('--config', 'sync.yaml', 'start');
    const once = youngMib('once');
    expect(daemon).toBeLessThanOrEqual(2);
    expect(once).toBeGreaterThan(daemon);
  });
});

// A worker thread, as it starts, puts V8's flags back to the command line's: the watcher's inotify check starts one.
const AFTER_WATCH = `
process.argv.splice(1, 1); // heap.js reads the command at argv[2], as main.ts's first import
await import(process.argv[1]);
const { parcelBackend } = await import(process.argv[3]);
const sub = await parcelBackend().subscribe(process.argv[4], () => {}, []);
await sub.unsubscribe();
const { getHeapSpaceStatistics } = await import('node:v8');
const keep = [];
for (let i = 0; i < 2e6; i++) { const o = { i, s: 'x' + i }; if (i % 50 === 0) keep.push(o); }
console.log(getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20);
`;

describe.runIf(process.versions.node.startsWith('20.') && process.platform === 'linux')(
  'the young generation after a worker thread',
  () => {
    it('stays bounded once the watcher has started (and ended) its inotify check', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sqsync-heap-'));
      try {
        // A script file, not -e: the check's worker would inherit --input-type=module.
        const script = join(dir, 'probe.mjs');
        writeFileSync(script, AFTER_WATCH);
        const out = execFileSync(
          process.execPath,
          [script, join(ROOT, 'dist', 'cli', 'heap.js'), 'start', join(ROOT, 'dist', 'watch', 'parcel.js'), dir],
          { encoding: 'utf8', timeout: 60_000 },
        );
        expect(Number(out)).toBeLessThanOrEqual(2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
