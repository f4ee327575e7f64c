import type { SquidexClient } from '../squidex/index.js';
import type { UploadFile } from '../squidex/types.js';
import type { UploadsRepo } from '../state/index.js';
import type { Logger } from '../lib/log.js';
import type { SyncEvents } from './events.js';
import type { OpenFile } from './openfile.js';

/** One file to send, read only from the descriptor the worker opened and checked. */
export interface SendArgs {
  mapping: string;
  path: string;
  assetId: string;
  parentId: string;
  fileName: string;
  mimeType: string;
  /** The worker's open file: chunks are read into reused buffers (readLarge), other ranges streamed. */
  file: UploadFile & Pick<OpenFile, 'readLarge'>;
  /** Size and mtime of the descriptor as opened. */
  st: { size: number; mtimeMs: number };
  /** The hash of the whole file, when the worker took one before the upload. */
  sha256?: string;
  signal?: AbortSignal;
  /** Aborted when the daemon stops: the chunk in flight finishes, no new one starts. */
  stopping?: AbortSignal;
  /** Where the removal of a finished upload's row waits, to be written with the file's synced row. */
  defer?: (write: () => void) => void;
}

/** What one tus upload (tusrun.ts) uses of the BigUploads that started it. */
export interface TusOwner {
  readonly client: SquidexClient;
  readonly uploads: UploadsRepo;
  readonly logger: Logger;
  readonly events: Pick<SyncEvents, 'tusBytes'> | undefined;
  /** `url|app`: whose uploads these are. */
  readonly server: string;
  now(): number;
  /** Starts a tus upload on the server; its URL. */
  create(a: SendArgs): Promise<string>;
  chunkBytes(): number;
  /** A piece refused as too large: halves the chunk size, or throws when it cannot go lower. */
  refused(length: number, a: SendArgs): void;
}
