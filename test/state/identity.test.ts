import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { identityOf, stateFileLost } from '../../src/state/identity.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('state file identity (issue 18 §4)', () => {
  it('holds while the path names the opened file, written or not; a deletion or a replacement says which', () => {
    dir = mkdtempSync(join(tmpdir(), 'identity-'));
    const file = join(dir, 'state.db');
    writeFileSync(file, 'a');
    const opened = identityOf(file);
    writeFileSync(file, 'written in place keeps the inode');
    expect(stateFileLost(file, opened)).toBeNull();

    copyFileSync(file, `${file}.new`);
    renameSync(`${file}.new`, file);
    expect(stateFileLost(file, opened)).toMatchObject({ code: 'STATE_LOST', message: expect.stringMatching(/replaced by another file/) });

    rmSync(file);
    expect(stateFileLost(file, opened)).toMatchObject({ code: 'STATE_LOST', message: expect.stringMatching(/was deleted/) });
    rmSync(dir, { recursive: true });
    expect(stateFileLost(file, opened)?.code).toBe('STATE_LOST'); // its folder gone too
  });
});
