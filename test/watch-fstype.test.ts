import { describe, expect, it } from 'vitest';
import { detectFsType, findMount, isNetworkFsType, parseMountinfo, parseProcMounts } from '../src/watch/index.js';

const MOUNTINFO = `22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 0:26 / /mnt/design rw,relatime shared:7 - cifs //nas/design rw,vers=3.1.1
31 30 0:27 / /mnt/design/archive rw - nfs4 nas:/archive rw
32 22 0:28 / /mnt/my\\040share rw - fuse.sshfs me@host: rw
33 22 0:29 / /mnt/bind rw,nosuid - fuse bindfs rw
34 22 8:17 / /media/usb rw - fuseblk /dev/sdb1 rw
35 22 0:30 / /mnt/design rw - tmpfs tmpfs rw
garbage line
`;

const PROC_MOUNTS = `/dev/vda1 / ext4 rw,relatime 0 0
//nas/design /mnt/design cifs rw 0 0
`;

describe('mount table parsing', () => {
  const mounts = parseMountinfo(MOUNTINFO);

  it('parses mountinfo with optional fields and octal escapes', () => {
    expect(mounts).toHaveLength(7);
    expect(mounts[3]).toEqual({ mountPoint: '/mnt/my share', fsType: 'fuse.sshfs' });
  });

  it('picks the longest mount point prefix, the later of two mounts on one point', () => {
    expect(findMount(mounts, '/home/me/pics')).toMatchObject({ fsType: 'ext4', mountPoint: '/', network: false });
    expect(findMount(mounts, '/mnt/design/archive/2020')).toMatchObject({ fsType: 'nfs4', network: true });
    expect(findMount(mounts, '/mnt/designer')).toMatchObject({ fsType: 'ext4' });
    expect(findMount(mounts, '/mnt/my share/x')).toMatchObject({ fsType: 'fuse.sshfs', network: true });
    expect(findMount(mounts, '/mnt/bind/a')).toMatchObject({ fsType: 'fuse', network: true });
    expect(findMount(mounts, '/media/usb/a')).toMatchObject({ fsType: 'fuseblk', network: false });
    expect(findMount(mounts, '/mnt/design/x')).toMatchObject({ fsType: 'tmpfs', network: false });
  });

  it('parses /proc/mounts as the fallback', () => {
    const m = parseProcMounts(PROC_MOUNTS);
    expect(findMount(m, '/mnt/design/a')).toEqual({ fsType: 'cifs', mountPoint: '/mnt/design', network: true });
  });

  it('classifies network types', () => {
    for (const t of ['cifs', 'smb3', 'smbfs', 'nfs', 'nfs4', 'sshfs', 'fuse.sshfs', '9p', 'afs', 'ceph', 'glusterfs', 'davfs', 'fuse', 'fuse.rclone']) {
      expect(isNetworkFsType(t), t).toBe(true);
    }
    for (const t of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'fuseblk', 'zfs']) expect(isNetworkFsType(t), t).toBe(false);
  });

  it('detects the real file system of this machine, also for a path that does not exist yet', () => {
    const here = detectFsType(process.cwd());
    expect(here.fsType).not.toBe('');
    const missing = detectFsType(process.cwd() + '/no/such/dir');
    expect(missing.fsType).toBe(here.fsType);
  });
});
