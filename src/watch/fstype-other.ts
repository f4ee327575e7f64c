import path from 'node:path';
import type { FsTypeInfo, MountEntry } from './fstype-types.js';

// File-system detection off Linux: the output of `mount` on macOS, and UNC
// paths plus `net use` on Windows. Pure parsers, tested on recorded output.

/**
 * Parses macOS `mount` output: `<source> on <mount point> (<type>, <options…>)`.
 * A mount point may hold spaces and parentheses; the type is the first word
 * of the last parenthesised group.
 */
export function parseDarwinMount(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^.+? on (.+) \(([^,()]+)(?:,[^()]*)?\)\s*$/.exec(line);
    if (m) out.push({ mountPoint: m[1], fsType: m[2].trim() });
  }
  return out;
}

/** Windows path without the `\\?\` long-path prefix, with `\\?\UNC\server\share` as `\\server\share`. */
function plainWin(p: string): string {
  const s = p.replace(/\//g, '\\');
  if (/^\\\\\?\\UNC\\/i.test(s)) return `\\\\${s.slice(8)}`;
  if (s.startsWith('\\\\?\\')) return s.slice(4);
  return s;
}

/** `\\server\share\…` (also written with `/` or as `\\?\UNC\…`): the share's root, else null. */
export function uncShare(p: string): string | null {
  const s = plainWin(p);
  if (!s.startsWith('\\\\') || s.startsWith('\\\\.\\')) return null;
  const parts = s.slice(2).split('\\');
  if (parts.length < 2 || parts[0] === '' || parts[1] === '') return null;
  return `\\\\${parts[0]}\\${parts[1]}`;
}

/**
 * Parses Windows `net use` output into drive letter → UNC share. The column
 * headings and status words are in the system's language, so only the shape
 * is relied on: a drive letter followed by a `\\server\share` on one line.
 */
export function parseNetUse(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /(?:^|\s)([A-Za-z]):\s+(\\\\[^\s\\]+\\\S+)/.exec(line);
    if (m) out.set(m[1].toUpperCase(), m[2]);
  }
  return out;
}

/**
 * Windows: a UNC path, or a drive letter `net use` maps to one, is a network
 * share; another drive letter is local. `netUse` null (the command failed):
 * only UNC paths can be told, anything else is unknown.
 */
export function detectWindows(p: string, real: string, netUse: string | null): FsTypeInfo {
  for (const candidate of [p, real]) {
    const share = uncShare(candidate);
    if (share) return { fsType: 'smb', mountPoint: share, network: true };
  }
  const drive = /^([A-Za-z]):/.exec(plainWin(real))?.[1]?.toUpperCase() ?? /^([A-Za-z]):/.exec(plainWin(p))?.[1]?.toUpperCase();
  if (!drive || netUse === null) return { fsType: 'unknown', mountPoint: drive ? `${drive}:\\` : path.win32.parse(p).root, network: false };
  const mapped = parseNetUse(netUse).get(drive);
  if (mapped) return { fsType: 'smb', mountPoint: `${drive}:\\`, network: true };
  return { fsType: 'local', mountPoint: `${drive}:\\`, network: false };
}
