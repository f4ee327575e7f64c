import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { World } from './world.js';

export const MiB = 1024 * 1024;

/** A file of `size` bytes written in 1 MiB blocks (never whole in memory), distinct per seed; returns its SHA-256. */
export function bigFile(w: World, rel: string, size: number, seed: number): string {
  const abs = w.write(rel, '');
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const fd = openSync(abs, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += MiB, i++) {
      const part = block.subarray(0, Math.min(MiB, size - off));
      part.writeUInt32LE(i * 7919 + seed, 0);
      writeSync(fd, part);
      hash.update(part);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
