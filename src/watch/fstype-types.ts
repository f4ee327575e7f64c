/** What the mount table says about a mapping's folder (shared by the per-platform readers). */
export interface FsTypeInfo {
  /** As the mount table spells it (`ext4`, `cifs`, `fuse.sshfs`, `apfs`, `smbfs`); on Windows `smb` or `local`; or `unknown`. */
  fsType: string;
  mountPoint: string;
  /** true: do not rely on change events; rescan on a short timer instead. */
  network: boolean;
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}
