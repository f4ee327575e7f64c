import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { World } from '../support/world.js';

/** `once` as cron or a shell script sees it: exit codes, counts and stdout that tell the truth. */
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function summaryRow(stdout: string, label: string): number | undefined {
  const m = new RegExp(`^  ${label.replace(/[()]/g, '\\$&')}\\s+(\\d+)$`, 'm').exec(stdout);
  return m ? Number(m[1]) : undefined;
}

describe('once: exit codes and the summary', () => {
  it('held deletions exit 1 (not "in sync"), are counted once per file, and the hint names confirm-deletes', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (let i = 0; i < 30; i++) w.write(`many/f${i}.txt`, `file ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    for (let i = 0; i < 25; i++) w.rm(`many/f${i}.txt`);
    const res = await w.run(['once']);
    expect(res.code, res.stdout).toBe(1);
    expect(summaryRow(res.stdout, 'deletions held')).toBe(25);
    expect(res.stdout).toContain('run `squidex-sync confirm-deletes share`');
    expect(res.stdout).not.toContain('--allow-mass-delete');

    // Confirmed with no daemon running: the next once applies it, and is in sync again.
    const confirmed = await w.run(['confirm-deletes']);
    expect(confirmed.stdout).toContain('They are applied at the next `squidex-sync once` or `start`.');
    const applied = await w.run(['once']);
    expect(applied.code, applied.stdout).toBe(0);
    expect(summaryRow(applied.stdout, 'deleted on server')).toBe(25);
  });

  it('a file held for the move window and then deleted counts as deleted, not as held', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (let i = 0; i < 4; i++) w.write(`f${i}.txt`, `file ${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    w.rm('f0.txt');
    const res = await w.run(['once']);
    expect(res.code, res.stdout).toBe(0);
    expect(summaryRow(res.stdout, 'deleted on server')).toBe(1);
    expect(res.stdout).not.toMatch(/held/);
  });

  it('off a terminal, stdout holds the summary only and the log goes to stderr as JSON lines', async () => {
    world = await World.create();
    const w = world;
    w.write('a.txt', 'a');
    w.write('b/c.txt', 'c');
    const res = await w.run(['once']);
    expect(res.code).toBe(0);
    expect(res.stdout.startsWith('summary:\n')).toBe(true);
    expect(res.stdout).not.toMatch(/^\{/m);
    const logLines = res.stderr.trim().split('\n');
    expect(logLines.length).toBeGreaterThan(2); // log.level debug in the test config
    for (const l of logLines) expect(() => JSON.parse(l), l).not.toThrow();
    // Sizes in human units.
    expect(res.stdout).toMatch(/^ {2}uploaded\s+2 bytes$/m);
  });
});

describe('a file the server refuses as too large', () => {
  it('quotes the limit the server stated, says the fix once, and the dry run plans an upload, not a replace', async () => {
    // A Squidex without tus (older than 6.6): the one case where a big file still fails with 413.
    world = await World.create({ server: { maxUploadBytes: 1_048_576, tus: false } });
    const w = world;
    w.write('big.bin', Buffer.alloc(2 * 1_048_576, 7));
    w.write('small.txt', 'fits');
    const res = await w.run(['once']);
    expect(res.code).toBe(1);
    const status = JSON.parse((await w.run(['status', '--json'])).stdout) as { failed: Array<{ path: string; error: string }> };
    const error = status.failed.find((f) => f.path === 'big.bin')!.error;
    expect(error).toContain('big.bin" (2.0 MiB)');
    expect(error).toContain('at most 1.0 MiB (1048576 bytes)');
    expect(error).not.toContain('5 MiB');
    expect(error.match(/raise/gi)).toHaveLength(1);

    const dry = await w.run(['once', '--dry-run']);
    expect(dry.stdout).toMatch(/upload\s+share: big\.bin\s+\(2\.0 MiB; its last upload did not finish\)/);
    expect(dry.stdout).not.toMatch(/replace\s+share: big\.bin/);
  });
});

describe('a mapping folder that is missing', () => {
  it('says to mount the share or remove the mapping, never to run the command just run', async () => {
    world = await World.create({ mapping: { deletes: 'delete' } });
    const w = world;
    for (let i = 0; i < 3; i++) w.write(`f${i}.txt`, `${i}`);
    expect((await w.run(['once'])).code).toBe(0);
    renameSync(w.local, join(w.dir, 'unmounted'));
    const res = await w.run(['once', '--allow-mass-delete']);
    expect(res.code).toBe(1);
    const out = res.stdout + res.stderr;
    expect(out).toContain('Mount the share (or put the folder back), or remove mapping "share" from the config');
    expect(out).not.toContain('--allow-mass-delete');
    expect(out).not.toContain('confirm-deletes');
  });
});
