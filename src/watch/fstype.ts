import fs from 'node:fs';
import path from 'node:path';

export interface FsTypeInfo {
  /** As the mount table spells it (`ext4`, `cifs`, `fuse.sshfs`), or `unknown`. */
  fsType: string;
  mountPoint: string;
  /** true: do not rely on change events; rescan on a short timer instead. */
  network: boolean;
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/**
 * File systems whose change events cannot be trusted, because another machine (or
 * another view of the same files) can write without the local kernel seeing it:
 * network protocols, cluster file systems, host-shared folders of VMs, and FUSE.
 * Generic `fuse` and every `fuse.*` count: measurements.md shows a bindfs mount
 * (type `fuse`) raising zero inotify events for writes made to its source, and
 * rclone/s3fs/sshfs mounts behave the same. `fuseblk` is FUSE over a local block
 * device (ntfs-3g on a USB disk), where every write goes through this kernel, so
 * events are complete there.
 */
const NETWORK = new Set([
  'cifs', 'smb3', 'smbfs', 'smb', 'smb2', 'nfs', 'nfs4', 'sshfs', '9p', 'afs', 'ceph',
  'glusterfs', 'davfs', 'webdav', 'ncpfs', 'coda', 'lustre', 'gpfs', 'beegfs', 'ocfs2',
  'gfs2', 'virtiofs', 'vboxsf', 'vmhgfs', 'fuse', 'moosefs', 'orangefs',
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
    const inside = mp === '/' || absPath === mp || absPath.startsWith(mp.endsWith('/') ? mp : mp + '/');
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

/**
 * The file system a mapping lives on. Linux only (reads the mount table); on other
 * platforms, or when the table cannot be read, returns `unknown` and non-network,
 * so the caller keeps events plus its normal rescan interval.
 */
export function detectFsType(p: string): FsTypeInfo {
  const unknown: FsTypeInfo = { fsType: 'unknown', mountPoint: '/', network: false };
  if (process.platform !== 'linux') return unknown;
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
