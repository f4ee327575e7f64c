import type { Retry } from '../lib/errors.js';
import type { FileRow } from './files.js';

/** A claimed job: "reconcile this path". `token` names this claim and no other. */
export interface Job {
  id: number;
  mapping: string;
  path: string;
  generation: number;
  attempts: number;
  token: string;
  reason: string | null;
  /**
   * The id a new asset for this path is uploaded under. Chosen at the first
   * claim and stored by the claim's own commit, so it costs no extra fsync and
   * a run after a crash upserts the same id (never a second asset). Cleared
   * once a run completes: its synced row holds the id from then on.
   */
  assetHint: string;
  /** Set by the worker once an upload under assetHint went out (in memory only). */
  hintSent?: boolean;
  /**
   * The path's files row as read with the claim (null: none), and FilesRepo.moves
   * then (in memory only): while that count is unchanged the row is too.
   */
  row?: FileRow | null;
  rowAt?: number;
}

export interface FailInfo {
  message: string;
  /** Stored as given (a SyncErrorCode from the worker; older rows hold whatever their version wrote). */
  code?: string;
  retry: Retry;
  retryAfterMs?: number;
}

export type FailOutcome = 'retry' | 'failed' | 'stale';

export interface MappingFilter {
  /** Mappings the user paused: their jobs stay queued and are not handed out. */
  excludeMappings?: readonly string[];
}
