import type { SyncErrorCode } from '../lib/errors.js';

/** Hooks for metrics and the progress bar; all optional. */
export interface SyncEvents {
  uploaded?(kind: 'new' | 'replace', bytes: number): void;
  action?(action: Action, mapping: string, path: string): void;
  /** `waiting`: the failure was Squidex's (away or refusing us), the job waits for it with no attempt spent. */
  failed?(code: SyncErrorCode, verdict: 'retry' | 'failed' | 'stale' | 'waiting'): void;
  /** tus bytes: sent (all PATCH bytes), resumed (found on the server at a resume), again (sent a second time). */
  tusBytes?(kind: 'sent' | 'resumed' | 'again', bytes: number): void;
}

export type Action =
  | 'none' // already in sync
  | 'touch' // only size/mtime changed, content equal
  | 'upload' // new asset
  | 'replace' // new content for an existing asset
  | 'adopt' // an asset already on the server is this file
  | 'move' // same content reappeared elsewhere: moved and/or renamed
  | 'forget' // gone locally, kept on the server (deletes: keep)
  | 'delete' // gone locally, deleted on the server (deletes: delete)
  | 'hold' // gone, but held: move window or delete guard
  | 'referenced' // gone locally, the delete refused: content still uses the asset (kept, asked again at the next full rescan)
  | 'annotate' // tags or metadata changed with no upload (a sidecar, the config's tags)
  | 'skip'; // not a regular file, or its mapping no longer exists

export interface Outcome {
  action: Action;
  /** Run this path again after this delay (move window, file changed during upload). */
  requeueAfterMs?: number;
  detail?: string;
  /** Worth a warning in the log: the path was refused (not a regular file inside the mapping). */
  warn?: boolean;
}
