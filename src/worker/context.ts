import type { SyncErrorCode } from '../lib/errors.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { FolderResolver, SquidexClient } from '../squidex/index.js';
import type { FileRow, State } from '../state/index.js';
import type { AdoptionIndex } from './adopt.js';
import type { BigUploads } from './bigupload.js';
import type { MappingRuntime } from './mapping.js';
import type { Stamper } from './stamps.js';
import type { GuardSettings } from './deleteguard.js';

/** Everything reconciling one path needs, passed in so tests can build it from real parts. */
export interface ReconcileContext {
  state: State;
  client: SquidexClient;
  resolver: FolderResolver;
  adoption: AdoptionIndex;
  clock: Clock;
  logger: Logger;
  mappings: ReadonlyMap<string, MappingRuntime>;
  /** How long a vanished file is held before it counts as deleted, so a matching add can make it a move. */
  moveWindowMs: number;
  /** `once --allow-mass-delete`: the user confirmed the deletions the guard holds (an emptied root included). */
  allowMassDelete?: boolean;
  /** The delete guard's thresholds, also applied to deletions the watcher reports between rescans. */
  guard?: GuardSettings;
  /** sync.stabilityMs: the least wait before a file that changed during its upload is tried again. */
  stabilityMs?: number;
  /** Per path: uploads in a row that the file outran (it changed while being sent). */
  unstable?: Map<string, number>;
  events?: SyncEvents;
  /**
   * Asked before new content replaces an asset's: an Outcome when the asset's
   * content was changed in Squidex and must be left alone (sync.serverChanges).
   */
  serverChanges?: { beforeReplace(mapping: string, row: FileRow): Promise<Outcome | undefined> };
  /** Files above upload.tusAboveBytes go through tus, resumable (bigupload.ts). Absent: every file is one request. */
  big?: BigUploads;
}

/**
 * One job's run, as the pool starts it. Its writes wait for the pool's next
 * commit, with the job's completion: one fsync for both, and lost in a crash
 * they only cost the same upsert again.
 */
export interface JobContext extends ReconcileContext {
  defer(write: () => void): void;
  /** Sends the stamps uploads leave in the state database, many per bulk request. */
  stamper: Pick<Stamper, 'before'>;
  /** Aborted when the pool stops: a big upload finishes its chunk in flight and keeps the rest for the next start. */
  stopping: AbortSignal;
}

/** For work outside the pool (verify's repairs): every write at once, no stamps pending. */
export function immediate(ctx: ReconcileContext): JobContext {
  return { ...ctx, defer: (write) => write(), stamper: { before: async () => undefined }, stopping: new AbortController().signal };
}

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
