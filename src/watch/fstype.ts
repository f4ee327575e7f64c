import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { detectWindows, parseDarwinMount } from './fstype-other.js';
import type { FsTypeInfo, MountEntry } from './fstype-types.js';

export type { FsTypeInfo, MountEntry };

/**
 * File systems whose change events cannot be trusted, because another machine (or
 * another view of the same files) can write without the local kernel seeing it:
 * network protocols, cluster file systems, host-shared folders of VMs, and FUSE.
 * Generic `fuse` and every `fuse.*` count: measurements.md shows a bindfs mount
 * (type `fuse`) raising zero inotify events for writes made to its source, and
 * rclone/s3fs/sshfs mounts behave the same. `fuseblk` is FUSE over a local block
 * device (ntfs-3g on a USB disk), where every write goes through this kernel, so
 * events are complete there. macOS names its own: smbfs, nfs, afpfs, webdav,
 * and osxfuse/macfuse for FUSE.
 */
const NETWORK = new Set([
  'cifs',
  'smb3',
  'smbfs',
  'smb',
  'smb2',
  'nfs',
  'nfs4',
  'sshfs',
  '9p',
  'afs',
  'ceph',
  'glusterfs',
  'davfs',
  'webdav',
  'ncpfs',
  'coda',
  'lustre',
  'gpfs',
  'beegfs',
  'ocfs2',
  'gfs2',
  'virtiofs',
  'vboxsf',
  'vmhgfs',
  'fuse',
  'moosefs',
  'orangefs',
  'afpfs',
  'osxfuse',
  'osxfusefs',
  'macfuse',
  'fusefs',
  'ftp',
]);
const LOCAL_FUSE = new Set(['fuseblk']);

export function isNetworkFsType(fsType: string): boolean {
  const t = fsType.toLowerCase();
  if (LOCAL_FUSE.has(t)) return false;
  return NETWORK.has(t) || t.startsWith('fuse.') || t.startsWith('nfs');
}

/** The kernel escapes space, tab, newline and backslash in mount points as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/self/mountinfo (`… mountpoint opts [optional…] - fstype source superopts`). */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0 || sep + 1 >= f.length) continue;
    out.push({ mountPoint: unescapeMount(f[4]), fsType: f[sep + 1] });
  }
  return out;
}

/** Parses /proc/mounts (`source mountpoint fstype opts 0 0`). */
export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 3) continue;
    out.push({ mountPoint: unescapeMount(f[1]), fsType: f[2] });
  }
  return out;
}

/** The mount that holds `absPath`: longest mount point prefix; a later mount over the same point wins. */
export function findMount(mounts: MountEntry[], absPath: string): FsTypeInfo {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = mp === '/' || absPath === mp || absPath.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  if (!best) return { fsType: 'unknown', mountPoint: '/', network: false };
  return { fsType: best.fsType, mountPoint: best.mountPoint, network: isNetworkFsType(best.fsType) };
}

/** realpath of the nearest existing ancestor, so a missing mapping folder still gets its share's type. */
function realOrAncestor(p: string): string {
  let cur = path.resolve(p);
  for (;;) {
    try {
      return fs.realpathSync.native(cur);
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

/** Output of a command run to learn the mount table, kept briefly: callers ask every few seconds, and Windows' `net` is slow to start. */
const outputs = new Map<string, { at: number; text: string | null }>();
const OUTPUT_TTL_MS = 30_000;

export type RunCommand = (cmd: string, args: string[]) => string | null;

function runCached(cmd: string, args: string[]): string | null {
  const key = [cmd, ...args].join(' ');
  const hit = outputs.get(key);
  if (hit && Date.now() - hit.at < OUTPUT_TTL_MS) return hit.text;
  let text: string | null = null;
  try {
    text = execFileSync(cmd, args, { encoding: 'utf8', timeout: 3000, windowsHide: true, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // not there, or hung on a dead share: the answer is unknown
  }
  outputs.set(key, { at: Date.now(), text });
  return text;
}

/**
 * The file system a mapping lives on: Linux reads the mount table, macOS the
 * output of `mount`, Windows tells UNC paths and drives mapped by `net use`.
 * Anywhere else, or when that cannot be read, `unknown` and non-network: the
 * caller keeps events and rescans more often.
 */
export function detectFsType(p: string, platform: NodeJS.Platform = process.platform, run: RunCommand = runCached): FsTypeInfo {
  const unknown: FsTypeInfo = { fsType: 'unknown', mountPoint: '/', network: false };
  if (platform === 'win32') return detectWindows(p, realOrAncestor(p), run('net', ['use']));
  if (platform === 'darwin') {
    const mounts = parseDarwinMount(run('/sbin/mount', []) ?? '');
    return mounts.length > 0 ? findMount(mounts, realOrAncestor(p)) : unknown;
  }
  if (platform !== 'linux') return unknown;
  const real = realOrAncestor(p);
  for (const [file, parse] of [
    ['/proc/self/mountinfo', parseMountinfo],
    ['/proc/mounts', parseProcMounts],
  ] as const) {
    try {
      const mounts = parse(fs.readFileSync(file, 'utf8'));
      if (mounts.length > 0) return findMount(mounts, real);
    } catch {
      // try the next table
    }
  }
  return unknown;
}
