import fs, { constants, type Stats } from 'node:fs';
import { open as openHandle, readlink } from 'node:fs/promises';
import { sep } from 'node:path';
import { SyncError } from '../lib/errors.js';

/**
 * O_NOFOLLOW: a symlink in place of the file fails (ELOOP) instead of being
 * followed. O_NONBLOCK: a FIFO in place of the file opens at once instead of
 * waiting for a writer (blocking the event loop, or a thread-pool thread for
 * ever); the fstat below then refuses it. Regular files ignore O_NONBLOCK.
 * Platforms without a flag (Windows) get 0 and rely on the checks after open.
 */
const FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * One file of a mapping, opened once. Everything the worker does with its
 * bytes (hash, compare, upload) goes through this descriptor, so swapping the
 * path for a symlink or a FIFO after the checks changes nothing that is read.
 */
export interface OpenFile {
  /** fstat of the descriptor as opened. */
  readonly stat: Stats;
  /** fstat now: a file that grows or shrinks after open is seen by its size. */
  fstat(): Promise<Stats>;
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** As read(), but always through the thread pool: for reads too big to block the event loop (a tus chunk). */
  readLarge(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Bytes start..end (inclusive), in chunks of up to `chunk` bytes; the descriptor stays open. */
  stream(start: number, end: number, chunk: number): AsyncIterable<Buffer>;
  close(): Promise<void>;
}

/** How a descriptor is opened and read: synchronously on a local disk, through the thread pool on a share. */
export type OpenMode = 'direct' | 'pooled';

/** Why a path cannot be read as a file of its mapping; the worker treats it as "no file here". */
export type Refusal = 'NOT_A_FILE' | 'OUTSIDE_MAPPING';

export function isRefusal(e: unknown): e is SyncError & { code: Refusal } {
  return e instanceof SyncError && (e.code === 'NOT_A_FILE' || e.code === 'OUTSIDE_MAPPING');
}

const roots = new Map<string, Buffer>();

/**
 * The mapping root's real path, taken the first time it is asked for (at
 * start, see pinRoot), and kept: a root swapped for a symlink later does not
 * move the boundary with it.
 */
export function pinRoot(root: string): Buffer | undefined {
  let real = roots.get(root);
  if (real) return real;
  try {
    real = fs.realpathSync.native(root, { encoding: 'buffer' });
  } catch {
    return undefined; // not there yet (an unmounted share): pinned when it appears
  }
  roots.set(root, real);
  return real;
}

/**
 * Opens `abs`, a file under `root`, for reading, and checks before a byte is
 * read that it is the regular file the caller's lstat saw (`seen`: same device
 * and inode) and that its real path lies inside the root. Throws a SyncError:
 * NOT_A_FILE (a symlink, FIFO, socket or device), OUTSIDE_MAPPING (a folder
 * on the way was swapped for a symlink), FILE_REPLACED (another file took the
 * path since `seen`: an editor's save-by-rename), or an fs error.
 */
export async function openInside(root: string, abs: string, seen: Stats, mode: OpenMode): Promise<OpenFile> {
  let file: OpenFile;
  try {
    file = mode === 'direct' ? openDirect(abs) : await openPooled(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ELOOP on Linux and macOS, EMLINK on FreeBSD: the last component is a symlink. ENXIO: a socket.
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'ENXIO') throw refuse('NOT_A_FILE', abs, 'it is a symlink or a socket', e);
    throw e;
  }
  try {
    const st = file.stat;
    if (!st.isFile()) throw refuse('NOT_A_FILE', abs, `it is a ${kindOf(st)}`);
    const real = pinRoot(root);
    const where = await realPathOf(file, abs, mode);
    if (!real || !inside(where, real)) {
      throw refuse('OUTSIDE_MAPPING', abs, `its real path ${where.toString()} is outside ${real?.toString() ?? root}`);
    }
    if (st.dev !== seen.dev || st.ino !== seen.ino) {
      throw new SyncError('FILE_REPLACED', `${abs} was replaced by another file while it was being opened.`, { retry: 'retry' });
    }
    return file;
  } catch (e) {
    await file.close();
    throw e;
  }
}

function refuse(code: Refusal, abs: string, why: string, cause?: unknown): SyncError {
  return new SyncError(code, `Not a regular file inside the mapping: ${abs} (${why}); skipped.`, {
    cause,
    retry: 'never',
    hint: 'Symlinks, FIFOs, sockets and devices are never read; put the file itself in the share.',
  });
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isDirectory()) return 'folder';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return 'special file';
}

const SEP = Buffer.from(sep);
/** Each pinned root with a separator at its end: what the real path of every file inside it starts with. */
const prefixes = new WeakMap<Buffer, Buffer>();

function inside(path: Buffer, root: Buffer): boolean {
  let prefix = prefixes.get(root);
  if (!prefix) {
    prefix = root.subarray(root.length - SEP.length).equals(SEP) ? root : Buffer.concat([root, SEP]);
    prefixes.set(root, prefix);
  }
  // Compared in place: no buffer made per file.
  return path.length > prefix.length && prefix.compare(path, 0, prefix.length) === 0;
}

/**
 * Where the descriptor really is: Linux names it in /proc/self/fd. Elsewhere
 * the path is resolved again, and must lead to the same device and inode.
 */
async function realPathOf(file: OpenFile, abs: string, mode: OpenMode): Promise<Buffer> {
  const fd = (file as DescriptorFile).fd;
  if (process.platform === 'linux') {
    const link = `/proc/self/fd/${fd}`;
    try {
      return mode === 'direct' ? fs.readlinkSync(link, { encoding: 'buffer' }) : await readlink(link, { encoding: 'buffer' });
    } catch {
      // /proc not mounted (a chroot): fall through to the portable check
    }
  }
  const real = fs.realpathSync.native(abs, { encoding: 'buffer' });
  const again = fs.statSync(real);
  if (again.dev !== file.stat.dev || again.ino !== file.stat.ino) {
    throw new SyncError('FILE_REPLACED', `${abs} was replaced by another file while it was being opened.`, { retry: 'retry' });
  }
  return real;
}

interface DescriptorFile extends OpenFile {
  readonly fd: number;
}

function openDirect(abs: string): DescriptorFile {
  const fd = fs.openSync(abs, FLAGS);
  let stat: Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  let closed = false;
  return {
    fd,
    stat,
    fstat: async () => fs.fstatSync(fd),
    read: async (b, o, l, p) => fs.readSync(fd, b, o, l, p),
    readLarge: (b, o, l, p) => readAsync(fd, b, o, l, p),
    stream: (start, end, chunk) => ranges((b, l, p) => readAsync(fd, b, 0, l, p), start, end, chunk),
    async close() {
      if (closed) return;
      closed = true;
      fs.closeSync(fd);
    },
  };
}

async function openPooled(abs: string): Promise<DescriptorFile> {
  const handle = await openHandle(abs, FLAGS);
  let stat: Stats;
  try {
    stat = await handle.stat();
  } catch (e) {
    await handle.close();
    throw e;
  }
  let closed = false;
  return {
    fd: handle.fd,
    stat,
    fstat: () => handle.stat(),
    read: async (b, o, l, p) => (await handle.read(b, o, l, p)).bytesRead,
    readLarge: async (b, o, l, p) => (await handle.read(b, o, l, p)).bytesRead,
    stream: (start, end, chunk) => ranges(async (b, l, p) => (await handle.read(b, 0, l, p)).bytesRead, start, end, chunk),
    async close() {
      if (closed) return;
      closed = true;
      await handle.close().catch(() => undefined);
    },
  };
}

function readAsync(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/**
 * Positioned reads of bytes start..end, up to `chunk` at a time. Not a
 * ReadStream: a ReadStream given a descriptor closes it when destroyed, and
 * it is destroyed whenever its reader stops early (an upload cut off
 * mid-body, a hash aborted). The descriptor is read again after that (a tus
 * upload resumes, a multipart refused with 413 goes through tus), and a
 * second close would close whatever file reused its number.
 */
async function* ranges(
  read: (buf: Buffer, length: number, position: number) => Promise<number>,
  start: number,
  end: number,
  chunk: number,
): AsyncGenerator<Buffer> {
  for (let pos = start; pos <= end; ) {
    const length = Math.min(chunk, end - pos + 1);
    const buf = Buffer.allocUnsafe(length);
    const n = await read(buf, length, pos);
    if (n === 0) return;
    yield n < length ? buf.subarray(0, n) : buf;
    pos += n;
  }
}
