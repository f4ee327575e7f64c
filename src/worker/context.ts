import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { FolderResolver, SquidexClient } from '../squidex/index.js';
import type { FileRow, State } from '../state/index.js';
import type { AdoptionIndex } from './adopt.js';
import type { BigUploads } from './bigupload.js';
import type { MappingRuntime } from './mapping.js';
import type { Stamper } from './stamps.js';
import type { GuardSettings } from './deleteguard.js';
import type { Outcome, SyncEvents } from './events.js';

export type { Action, Outcome, SyncEvents } from './events.js';

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
  /**
   * When this run's first full rescan of a mapping ended; null until it has. A file
   * missed earlier (a delete queued before a stop) waits for it and then a move
   * window from it: that rescan pairs a file gone while stopped with its new path
   * (a folder renamed whole, or the new path's job), however long ago it was missed.
   * Absent where no rescan comes (verify --repair): the window counts from the miss.
   */
  firstLook?(mapping: string): number | null;
  /**
   * Where a gone file's bytes are now under its mapping, for a run no rescan pairs moves
   * for (verify --repair, from its walk): its delete is held, and the new path's job moves
   * the asset. Absent: the rescan and the move window do that.
   */
  movedTo?(mapping: string, row: FileRow): Promise<string | null>;
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
  serverChanges?: { beforeReplace(mapping: string, row: FileRow, signal?: AbortSignal): Promise<Outcome | undefined> };
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
