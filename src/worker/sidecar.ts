import { join, posix } from 'node:path';
import { lstatSync, type Stats } from 'node:fs';
import type { Logger } from '../lib/log.js';
import { normalise, readXmp, type FileMetadata } from '../metadata/index.js';
import { isGone } from './fserrors.js';
import { fileAccessFor, readSmall } from './localfs.js';
import { openInside } from './openfile.js';
import { readsEmbedded } from './annotation.js';
import type { MappingRuntime } from './mapping.js';

/** A sidecar larger than this is not read: Lightroom's are a few KB, a runaway history a few MB at most. */
const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;

export function isSidecarPath(relPath: string): boolean {
  return /\.xmp$/i.test(relPath);
}

/** Under embeddedMetadata, every .xmp file is metadata for its neighbours and never an asset of its own. */
export function isSidecar(mapping: MappingRuntime, relPath: string): boolean {
  return readsEmbedded(mapping) && isSidecarPath(relPath);
}

/** `photo.cr2.xmp` names its file exactly and wins over `photo.xmp`; either case of the extension. */
export function sidecarCandidates(relPath: string): string[] {
  const dir = posix.dirname(relPath);
  const base = posix.basename(relPath);
  const ext = posix.extname(base);
  const at = (name: string): string => (dir === '.' ? name : `${dir}/${name}`);
  const out = [at(`${base}.xmp`), at(`${base}.XMP`)];
  if (ext) out.push(at(`${base.slice(0, -ext.length)}.xmp`), at(`${base.slice(0, -ext.length)}.XMP`));
  return out;
}

/**
 * Per mapping root, the folders a full rescan found sidecars in (and those a
 * sidecar job met since). A file in any other folder has no sidecar to look
 * for: most shares have none, and four lookups per file showed in a first
 * sync's profile. Before the first rescan of a root, every folder is looked in.
 */
const sidecarDirs = new Map<string, Set<string>>();

/** What a full rescan found: replaces the root's folders. */
export function noteSidecars(root: string, paths: Iterable<string>): void {
  const dirs = new Set<string>();
  for (const p of paths) dirs.add(posix.dirname(p));
  sidecarDirs.set(root, dirs);
}

/** One sidecar met between rescans (a watcher event). */
export function noteSidecar(root: string, path: string): void {
  sidecarDirs.get(root)?.add(posix.dirname(path));
}

function mayHaveSidecarIn(root: string, relPath: string): boolean {
  return sidecarDirs.get(root)?.has(posix.dirname(relPath)) ?? true;
}

/** Whether readSidecar would look at all: the mapping reads sidecars, and its rescan saw some in this folder. */
export function mayHaveSidecar(mapping: MappingRuntime, relPath: string): boolean {
  return readsEmbedded(mapping) && mayHaveSidecarIn(mapping.local, relPath);
}

export interface Sidecar {
  path: string;
  meta: FileMetadata;
  size: number;
  mtimeMs: number;
}

/**
 * The sidecar of `relPath`, read like every file of the share: lstat, then
 * opened once without following a symlink and checked to lie inside the
 * mapping. A sidecar that cannot be read counts as absent (logged).
 */
export async function readSidecar(mapping: MappingRuntime, relPath: string, logger: Logger): Promise<Sidecar | undefined> {
  if (!mayHaveSidecarIn(mapping.local, relPath)) return undefined;
  const io = fileAccessFor(mapping.local);
  for (const rel of sidecarCandidates(relPath)) {
    const abs = join(mapping.local, rel);
    let st: Stats | undefined;
    try {
      // Most files have no sidecar: on a local disk, asked without an exception per miss (measured on a first sync).
      st = io.mode === 'direct' ? lstatSync(abs, { throwIfNoEntry: false }) : await io.lstat(abs);
    } catch (e) {
      if (!isGone(e))
        logger.warn({ path: rel, code: (e as NodeJS.ErrnoException).code }, 'cannot look at sidecar %s; read without it', rel);
      continue;
    }
    if (!st?.isFile() || st.size > MAX_SIDECAR_BYTES) continue;
    try {
      const file = await openInside(mapping.local, abs, st, io.mode);
      try {
        const { data } = await readSmall(file, file.stat.size);
        return { path: rel, meta: normalise(await readXmp(data.toString('utf8'))), size: st.size, mtimeMs: st.mtimeMs };
      } finally {
        await file.close();
      }
    } catch (e) {
      if (!isGone(e))
        logger.warn(
          { path: rel, code: (e as NodeJS.ErrnoException).code },
          'cannot read sidecar %s; read without it: %s',
          rel,
          (e as Error).message,
        );
    }
  }
  return undefined;
}

/** What the state database kept of a file's own metadata; null when it was never read. */
export function storedSource(source: unknown): FileMetadata | null {
  return source && typeof source === 'object' ? (source as FileMetadata) : null;
}
