import fs from 'node:fs';
import type { IgnoreMatcher } from './ignore.js';

export interface FolderScan {
  /** Folders under the start folder, relative to the root, breadth first. */
  dirs: string[];
  /** Ignored folders (not descended into), relative, breadth first: the shallowest come first. */
  ignored: string[];
  /** Folders that could not be listed (no permission), relative. */
  unreadable: string[];
}

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * The folders of a tree, one readdir per folder and no stat per file (a few
 * tens of ms for 1,000 folders). The events mode needs them to tell a folder
 * that vanished from a file (the native watcher only says "deleted"), and to
 * keep ignored and unreadable folders out of the native watcher's crawl.
 * Files met on the way go to `onFile` (the files of a folder that appeared).
 * Symlinks are never followed.
 */
export async function scanFolders(
  root: string,
  start: string,
  ignore: IgnoreMatcher,
  opts: { onFile?: (rel: string) => void; stopped?: () => boolean } = {},
): Promise<FolderScan> {
  const base = root.endsWith('/') ? root : `${root}/`;
  const abs = (rel: string): string => (rel === '' ? root : base + rel);
  const out: FolderScan = { dirs: [], ignored: [], unreadable: [] };
  const queue = [start];
  let budget = 200;
  for (let next = 0; next < queue.length; next++) {
    if (opts.stopped?.()) break;
    const dir = queue[next];
    let dirents: fs.Dirent[];
    try {
      dirents = fs.readdirSync(abs(dir), { withFileTypes: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') out.unreadable.push(dir);
      continue; // gone meanwhile: the event for it says so
    }
    const prefix = dir === '' ? '' : `${dir}/`;
    for (const d of dirents) {
      const rel = prefix + d.name;
      let isDir = d.isDirectory();
      let isFile = !isDir && d.isFile();
      if (!isDir && !isFile && !d.isSymbolicLink() && !d.isFIFO() && !d.isSocket() && !d.isBlockDevice() && !d.isCharacterDevice()) {
        // Some file systems give no type in readdir: ask lstat.
        const st = fs.lstatSync(abs(rel), { throwIfNoEntry: false });
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir) {
        if (ignore.shallow(rel, true)) out.ignored.push(rel);
        else {
          out.dirs.push(rel);
          queue.push(rel);
        }
      } else if (isFile && opts.onFile && !ignore.shallow(rel, false)) opts.onFile(rel);
    }
    if (--budget <= 0) {
      budget = 200;
      await yieldNow();
    }
  }
  return out;
}
