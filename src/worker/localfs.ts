import { existsSync, lstatSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { allocWithEnvelopeRoom } from '../squidex/multipart.js';
import { detectFsType } from '../watch/fstype.js';
import type { FileDigest } from './hash.js';
import type { OpenFile, OpenMode } from './openfile.js';

/**
 * Files up to this size are read once into memory, then hashed, compared and
 * sent from the same bytes (eight uploads at once hold at most 8 MiB).
 */
export const SMALL_FILE_BYTES = 1 << 20;

export interface SmallFile extends FileDigest {
  data: Buffer;
}

/** How the files under one root are looked at and opened. */
export interface FileAccess {
  lstat(path: string): Promise<Stats>;
  /** How openInside opens and reads them. */
  readonly mode: OpenMode;
}

/**
 * A file of at most SMALL_FILE_BYTES, whole, from its open descriptor. One
 * byte more than `expected` is asked for, so a file that grew since its stat
 * comes back with another size (the caller treats that as "changed while
 * reading"). `forUpload`: the bytes may be sent, and get room for the
 * multipart envelope around them (squidex/multipart.ts).
 */
export async function readSmall(file: OpenFile, expected: number, signal?: AbortSignal, forUpload = false): Promise<SmallFile> {
  signal?.throwIfAborted();
  const buf = forUpload ? allocWithEnvelopeRoom(expected + 1) : Buffer.allocUnsafe(expected + 1);
  let size = 0;
  while (size < buf.length) {
    const n = await file.read(buf, size, buf.length - size, size);
    if (n === 0) break;
    size += n;
  }
  const data = buf.subarray(0, size);
  return { data, size, sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * Through libuv's thread pool: a share that hangs (a hard-mounted NFS server
 * gone away) blocks one pool thread, never the event loop.
 */
export const pooled: FileAccess = { lstat: (p) => lstat(p), mode: 'pooled' };

/**
 * On a local disk, small reads are done synchronously: the thread-pool
 * hand-offs and promise machinery cost several times the I/O itself
 * (docs/benchmarks.md), and a first sync of small files is CPU-bound. A local
 * read of at most 1 MiB blocks the loop for well under a millisecond.
 */
export const direct: FileAccess = { lstat: async (p) => lstatSync(p), mode: 'direct' };

const byRoot = new Map<string, { access: FileAccess; at: number; share: boolean }>();
/** How long a local (or missing) root is trusted before the mount table is read again. */
const RECHECK_MS = 5000;

/**
 * How to read files under a mapping's root: directly on a local file system,
 * through the thread pool on a network share, FUSE, or anything not known to
 * be local. A share stays a share for the life of the process (looking at it
 * again would touch it synchronously). A local or missing root is looked at
 * again every few seconds: a share mounted later on an empty local folder must
 * not go on being read like that folder (a hung NFS server would freeze the
 * event loop). A share mounted *below* a root is read like the root (README,
 * Known limits).
 */
export function fileAccessFor(root: string, now = Date.now()): FileAccess {
  const hit = byRoot.get(root);
  if (hit && (hit.share || now - hit.at < RECHECK_MS)) return hit.access;
  let entry = { access: pooled, at: now, share: false };
  if (existsSync(root)) {
    const fs = detectFsType(root);
    entry = fs.network || fs.fsType === 'unknown' ? { access: pooled, at: now, share: true } : { access: direct, at: now, share: false };
  }
  byRoot.set(root, entry);
  return entry.access;
}
