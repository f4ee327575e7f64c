/** The Squidex client: the only module that talks HTTP to Squidex (docs/ARCHITECTURE.md § squidex). */
export { SquidexClient, type SquidexClientOptions } from './client.js';
export { FolderResolver, normalizeRemotePath } from './folders.js';
export {
  SquidexError,
  isGoneOnServer,
  isGoneStatus,
  isMissingRoute,
  isUnreadableRequest,
  isVersionConflict,
  squidexVerdict,
  type SquidexVerdict,
} from './errors.js';
export { isReferencedError, OBJECT_REFERENCED } from './referenced.js';
export { squidexFileHash, contentTypeFor } from './hash.js';
export {
  ROOT_FOLDER_ID,
  type AssetDto,
  type FolderDto,
  type FolderCache,
  type UploadSource,
  type UploadFile,
  type UploadResult,
  type AnnotateInput,
  type FindAssetsQuery,
  type BulkJob,
  type BulkResult,
} from './types.js';
