import { describe, expect, it } from 'vitest';
import {
  detectFsType,
  detectWindows,
  findMount,
  isNetworkFsType,
  parseDarwinMount,
  parseMountinfo,
  parseNetUse,
  parseProcMounts,
  uncShare,
} from '../../src/watch/index.js';

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
    for (const t of [
      'cifs',
      'smb3',
      'smbfs',
      'nfs',
      'nfs4',
      'sshfs',
      'fuse.sshfs',
      '9p',
      'afs',
      'ceph',
      'glusterfs',
      'davfs',
      'fuse',
      'fuse.rclone',
    ]) {
      expect(isNetworkFsType(t), t).toBe(true);
    }
    for (const t of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'fuseblk', 'zfs']) expect(isNetworkFsType(t), t).toBe(false);
  });

  it('detects the real file system of this machine, also for a path that does not exist yet', () => {
    const here = detectFsType(process.cwd());
    expect(here.fsType).not.toBe('');
    const missing = detectFsType(`${process.cwd()}/no/such/dir`);
    expect(missing.fsType).toBe(here.fsType);
  });
});

// `mount` output in the format macOS 14 prints it, with the usual kinds of shares mounted
// (written after that format: no Mac to record on here).
const DARWIN_MOUNT = `/dev/disk3s1s1 on / (apfs, sealed, local, read-only, journaled)
devfs on /dev (devfs, local, nobrowse)
/dev/disk3s6 on /System/Volumes/VM (apfs, local, noexec, journaled, noatime, nobrowse)
/dev/disk3s5 on /System/Volumes/Data (apfs, local, journaled, nobrowse, protect, root data)
map auto_home on /System/Volumes/Data/home (autofs, automounted, nobrowse)
//designer@nas._smb._tcp.local/Design on /Volumes/Design (smbfs, nodev, nosuid, mounted by designer)
nas.local:/volume1/archive on /Volumes/archive (nfs, asynchronous)
afp_2Xy3@nas.local/Old on /Volumes/Old (afpfs, nodev, nosuid, mounted by designer)
https://dav.example.com/remote.php/webdav on /Volumes/webdav (webdav, nodev, noexec, nosuid, mounted by designer)
sshfs@macfuse0 on /Volumes/remote (macfuse, nodev, nosuid, synchronous, mounted by designer)
me@host:/srv on /Volumes/legacy (osxfuse, nodev, nosuid, synchronous, mounted by designer)
/dev/disk4s1 on /Volumes/Untitled (2) (msdos, local, nodev, nosuid, noowners)
/dev/disk5s2 on /Volumes/Time on Mars (apfs, local, nodev, nosuid, journaled, noowners)
`;

// `net use` output in the format Windows 11 prints it, English then German: headings and status
// words are localised (written after that format: no Windows to record on here).
const NET_USE_EN = [
  'New connections will be remembered.',
  '',
  '',
  'Status       Local     Remote                    Network',
  '',
  '-------------------------------------------------------------------------------',
  'OK           Z:        \\\\nas\\design              Microsoft Windows Network',
  'Unavailable  Y:        \\\\archive-server\\old files',
  '                                                Microsoft Windows Network',
  'OK                     \\\\nas\\IPC$                Microsoft Windows Network',
  'The command completed successfully.',
  '',
].join('\r\n');
const NET_USE_DE = [
  'Neue Verbindungen werden gespeichert.',
  '',
  'Status       Lokal     Remote                    Netzwerk',
  '-------------------------------------------------------------------------------',
  'OK           W:        \\\\fileserver\\Marketing   Microsoft Windows Network',
  'Der Befehl wurde erfolgreich ausgeführt.',
].join('\r\n');
const NET_USE_NONE = 'New connections will be remembered.\r\n\r\nThere are no entries in the list.\r\n';

describe('macOS: `mount` output', () => {
  const mounts = parseDarwinMount(DARWIN_MOUNT);

  it('parses every line, also mount points with spaces and parentheses', () => {
    expect(mounts).toHaveLength(13);
    expect(mounts[0]).toEqual({ mountPoint: '/', fsType: 'apfs' });
    expect(mounts[11]).toEqual({ mountPoint: '/Volumes/Untitled (2)', fsType: 'msdos' });
    expect(mounts[12]).toEqual({ mountPoint: '/Volumes/Time on Mars', fsType: 'apfs' });
  });

  it('counts smbfs, nfs, afpfs, webdav and macFUSE as network; APFS, FAT and the rest as local', () => {
    const at = (p: string) => findMount(mounts, p);
    expect(at('/Volumes/Design/Campaign/a.psd')).toEqual({ fsType: 'smbfs', mountPoint: '/Volumes/Design', network: true });
    expect(at('/Volumes/archive/2020')).toMatchObject({ fsType: 'nfs', network: true });
    expect(at('/Volumes/Old/x')).toMatchObject({ fsType: 'afpfs', network: true });
    expect(at('/Volumes/webdav/x')).toMatchObject({ fsType: 'webdav', network: true });
    expect(at('/Volumes/remote/x')).toMatchObject({ fsType: 'macfuse', network: true });
    expect(at('/Volumes/legacy/x')).toMatchObject({ fsType: 'osxfuse', network: true });
    expect(at('/Users/designer/Pictures')).toMatchObject({ fsType: 'apfs', mountPoint: '/', network: false });
    expect(at('/Volumes/Untitled (2)/DCIM')).toMatchObject({ fsType: 'msdos', network: false });
    expect(at('/Volumes/Time on Mars/x')).toMatchObject({ fsType: 'apfs', network: false });
  });

  it('detectFsType on macOS reads `mount`; without its output the answer is unknown', () => {
    const here = process.cwd();
    const mount = `/dev/disk3s1s1 on / (apfs, local, journaled)\n//u@nas/share on ${here} (smbfs, nodev, nosuid, mounted by u)\n`;
    const calls: string[] = [];
    const run = (cmd: string, args: string[]) => {
      calls.push([cmd, ...args].join(' '));
      return mount;
    };
    expect(detectFsType(`${here}/sub`, 'darwin', run)).toEqual({ fsType: 'smbfs', mountPoint: here, network: true });
    expect(calls).toEqual(['/sbin/mount']);
    expect(detectFsType(here, 'darwin', () => null)).toEqual({ fsType: 'unknown', mountPoint: '/', network: false });
  });
});

describe('Windows: UNC paths and `net use`', () => {
  it('parses mapped drives, whatever the language', () => {
    expect([...parseNetUse(NET_USE_EN)]).toEqual([
      ['Z', '\\\\nas\\design'],
      ['Y', '\\\\archive-server\\old'],
    ]);
    expect([...parseNetUse(NET_USE_DE)]).toEqual([['W', '\\\\fileserver\\Marketing']]);
    expect(parseNetUse(NET_USE_NONE).size).toBe(0);
  });

  it('tells UNC paths in every spelling, and nothing else', () => {
    expect(uncShare('\\\\nas\\design\\Campaign')).toBe('\\\\nas\\design');
    expect(uncShare('//nas/design/Campaign')).toBe('\\\\nas\\design');
    expect(uncShare('\\\\?\\UNC\\nas\\design\\x')).toBe('\\\\nas\\design');
    expect(uncShare('\\\\?\\C:\\Users\\x')).toBeNull();
    expect(uncShare('\\\\.\\PhysicalDrive0')).toBeNull();
    expect(uncShare('C:\\Users\\x')).toBeNull();
    expect(uncShare('\\\\nas')).toBeNull();
  });

  it('a mapped drive or a UNC path is network, another drive is local, and without `net use` only UNC can be told', () => {
    expect(detectWindows('Z:\\Campaign', 'Z:\\Campaign', NET_USE_EN)).toEqual({ fsType: 'smb', mountPoint: 'Z:\\', network: true });
    expect(detectWindows('y:\\old', 'y:\\old', NET_USE_EN)).toMatchObject({ network: true });
    expect(detectWindows('\\\\nas\\design\\a', '\\\\nas\\design\\a', null)).toEqual({
      fsType: 'smb',
      mountPoint: '\\\\nas\\design',
      network: true,
    });
    // Node's realpath turns a mapped drive into its UNC path: that alone is enough.
    expect(detectWindows('Q:\\x', '\\\\nas\\design\\x', null)).toMatchObject({ network: true });
    expect(detectWindows('D:\\Design', 'D:\\Design', NET_USE_EN)).toEqual({ fsType: 'local', mountPoint: 'D:\\', network: false });
    expect(detectWindows('D:\\Design', 'D:\\Design', null)).toEqual({ fsType: 'unknown', mountPoint: 'D:\\', network: false });
  });
});

describe('elsewhere', () => {
  it('is unknown: events, with rescans every 5 minutes', () => {
    expect(detectFsType(process.cwd(), 'freebsd', () => 'x on / (ufs, local)')).toEqual({
      fsType: 'unknown',
      mountPoint: '/',
      network: false,
    });
  });
});
