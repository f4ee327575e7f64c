/** Wire types of the Squidex asset API (reference/squidex-api.md §2.2, §5.1). Only the fields we read are typed. */

/** The app's root folder: Squidex's `DomainId.Empty`, the zero GUID. */
export const ROOT_FOLDER_ID = '00000000-0000-0000-0000-000000000000';

export interface AssetDto {
  id: string;
  parentId: string;
  fileName: string;
  fileHash?: string;
  slug: string;
  mimeType: string;
  fileSize: number;
  fileVersion: number;
  version: number;
  metadata: Record<string, unknown>;
  tags?: string[];
  isProtected?: boolean;
  /** Present only when the server answered with an existing asset instead of acting on ours. */
  _meta?: { isDuplicate?: string };
  [key: string]: unknown;
}

export interface FolderDto {
  id: string;
  parentId: string;
  folderName: string;
  version: number;
}

/** A file already opened (and checked) by the caller, read from its descriptor only. */
export interface UploadFile {
  fstat(): Promise<{ size: number }>;
  /** Bytes start..end (inclusive) in chunks of up to `chunk` bytes; the caller closes the file. */
  stream(start: number, end: number, chunk: number): AsyncIterable<Buffer>;
}

export interface UploadSource {
  /** Local file to stream (opened by path when `file` is absent). */
  path: string;
  /** The open file to send; the path is then used for messages only. */
  file?: UploadFile;
  /** Name sent in the multipart part (and hashed by the server). */
  fileName: string;
  /** Overrides contentTypeFor(fileName). */
  mimeType?: string;
  /**
   * The file's bytes, already read (small files), with their hex SHA-256: sent
   * from memory in one write instead of being read again as a stream.
   */
  bytes?: { data: Buffer; sha256: string };
}

export interface UploadResult {
  asset: AssetDto;
  /** Hex SHA-256 of the bytes actually sent, so the caller can tell whether the file changed during the upload. */
  sha256: string;
  bytes: number;
}

export interface AnnotateInput {
  fileName?: string;
  slug?: string;
  metadata?: Record<string, unknown>;
  tags?: string[];
}

/** One job of `POST /assets/bulk` (reference §9); bulk cannot upload or replace content. */
export type BulkJob =
  // expectedVersion: Squidex applies the request's If-Match to every job (reference §9); sent anyway for a server that reads it.
  | ({ id: string; type: 'Annotate'; expectedVersion?: number } & AnnotateInput)
  | { id: string; type: 'Move'; parentId: string }
  | { id: string; type: 'Delete'; permanent?: boolean };

/** Per job, in job order; `error` is an ErrorDto (a missing asset: message "OBJECT_NOTFOUND", statusCode 404). */
export interface BulkResult {
  jobIndex: number;
  id: string;
  error?: { message?: string; errorCode?: string; statusCode?: number };
}

export interface FindAssetsQuery {
  parentId?: string;
  fileHash?: string;
  fileName?: string;
  metadata?: Record<string, string>;
  top?: number;
  skip?: number;
}

/** Where folder path → id answers are kept between runs (state/ implements it on SQLite). */
export interface FolderCache {
  get(remotePath: string): string | undefined;
  set(remotePath: string, id: string): void;
  delete(remotePath: string): void;
}
