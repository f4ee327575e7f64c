import type { Stats } from 'node:fs';
import type { SkipReason } from '../watch/walk.js';

/** What `status` says of a path that is never read, whoever found it (the walk or the worker). */
export const SKIP_TEXT: Record<SkipReason, string> = {
  symlink: 'a symlink (never followed)',
  fifo: 'a FIFO',
  socket: 'a socket',
  device: 'a device',
  // Shown with the bad bytes as \xNN in its path.
  name: 'the name is not valid UTF-8 (Squidex names are Unicode): rename it to sync it',
  other: 'not a regular file',
};

export function skipTextOf(st: Stats): string {
  if (st.isSymbolicLink()) return SKIP_TEXT.symlink;
  if (st.isFIFO()) return SKIP_TEXT.fifo;
  if (st.isSocket()) return SKIP_TEXT.socket;
  if (st.isBlockDevice() || st.isCharacterDevice()) return SKIP_TEXT.device;
  return SKIP_TEXT.other;
}
