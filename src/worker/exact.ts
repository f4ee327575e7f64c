import { readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';

/**
 * Whether a directory entry with exactly this name exists. On a
 * case-insensitive or normalisation-insensitive file system (an SMB share
 * served by Windows or macOS) `lstat('Logo.PNG')` succeeds after a rename to
 * `logo.png`; only the directory listing tells the old name is gone.
 */
export async function existsExactly(root: string, relPath: string): Promise<boolean> {
  const dir = posix.dirname(relPath);
  try {
    return (await readdir(join(root, dir === '.' ? '' : dir))).includes(posix.basename(relPath));
  } catch {
    return false;
  }
}

export function existsExactlySync(root: string, relPath: string): boolean {
  const dir = posix.dirname(relPath);
  try {
    return readdirSync(join(root, dir === '.' ? '' : dir)).includes(posix.basename(relPath));
  } catch {
    return false;
  }
}
