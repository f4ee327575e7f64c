import { createHash, randomUUID } from 'node:crypto';
import { ApiError, notFound, validation } from './http.js';
import { slugify } from './slug.js';
import { ROOT_ID, type Counters, type Inspection } from './types.js';

export interface FolderRec {
  id: string;
  parentId: string;
  folderName: string;
  version: number;
  deleted: boolean;
}

export interface AssetRec {
  id: string;
  parentId: string;
  fileName: string;
  slug: string;
  mimeType: string;
  fileSize: number;
  fileHash: string;
  sha256: string;
  bytes: Buffer | null;
  metadata: Record<string, unknown>;
  tags: string[];
  isProtected: boolean;
  version: number;
  fileVersion: number;
  created: number;
  lastModified: number;
  createdBy: string;
  lastModifiedBy: string;
  deleted: boolean;
}

/** One uploaded file part, already hashed while it streamed in. */
export interface Upload {
  fileName: string;
  mimeType: string;
  size: number;
  /** Raw SHA-256 digest of the bytes. */
  digest: Buffer;
  bytes: Buffer | null;
}

/** §4: b64(sha256(utf8(b64(sha256(bytes)) + fileName + size))). */
export function fileHashOf(digest: Buffer, fileName: string, size: number): string {
  return createHash('sha256')
    .update(`${digest.toString('base64')}${fileName}${size}`, 'utf8')
    .digest('base64');
}

export function fileTypeOf(fileName: string): string {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0 || dot === fileName.length - 1) return 'blob';
  const ext = fileName.slice(dot + 1).toLowerCase();
  return ext === 'jpeg' ? 'jpg' : ext;
}

export const emptyCounters = (): Counters => ({
  requests: 0,
  byRoute: {},
  uploads: 0,
  uploadBytes: 0,
  tusBytes: 0,
  faults: 0,
  tokens: 0,
  maxInFlight: 0,
  maxUploadsInFlight: 0,
  uploadMs: 0,
  maxWorking: 0,
  rateLimited: 0,
  firstUploadAt: 0,
  lastUploadAt: 0,
});

/** The app's assets and folders, with Squidex's domain rules (versions, soft delete, guards). */
export class Store {
  readonly folders = new Map<string, FolderRec>();
  readonly assets = new Map<string, AssetRec>();
  readonly createdIds = new Map<string, number>();
  /** Assets some content item uses (set by tests): a delete with checkReferrers is refused. */
  readonly referenced = new Set<string>();
  counters: Counters = emptyCounters();

  /** One more upload taken; its time, so a benchmark can tell the sustained pace from the start-up. */
  uploaded(): void {
    const c = this.counters;
    c.uploads++;
    c.lastUploadAt = Date.now();
    if (c.firstUploadAt === 0) c.firstUploadAt = c.lastUploadAt;
  }

  constructor(
    private readonly appId: string,
    private readonly actor: string,
  ) {}

  aggregate(id: string): string {
    return `${this.appId}--${id}`;
  }

  /** Root is always valid; unknown or deleted folders are a 400 like MustMoveToValidFolder. */
  mustBeValidFolder(parentId: string): void {
    if (parentId === ROOT_ID) return;
    const f = this.folders.get(parentId);
    if (!f || f.deleted) throw validation('ParentId: Asset folder does not exist.');
  }

  /** 404 for unknown, 410 for soft-deleted, then 412 for a wrong If-Match: the server's order. */
  liveFolder(id: string, expected?: number): FolderRec {
    const f = this.folders.get(id);
    if (!f) throw notFound();
    if (f.deleted) throw this.deletedError(id);
    this.checkVersion(id, f.version, expected);
    return f;
  }

  liveAsset(id: string, expected?: number): AssetRec {
    const a = this.assets.get(id);
    if (!a) throw notFound();
    if (a.deleted) throw this.deletedError(id);
    this.checkVersion(id, a.version, expected);
    return a;
  }

  checkVersion(id: string, current: number, expected?: number): void {
    if (expected !== undefined && expected !== -2 && expected !== current) {
      throw new ApiError(412, {
        message: `Entity (${this.aggregate(id)}) requested version ${expected}, but found ${current}.`,
        errorCode: 'OBJECT_VERSION_CONFLICT',
      });
    }
  }

  deletedError(id: string): ApiError {
    return new ApiError(410, { message: `Entity (${this.aggregate(id)}) has been deleted.`, errorCode: 'OBJECT_DELETED' });
  }

  /** ValidationExtensions.CheckReferrersAsync: asked for, and some content uses the asset. */
  checkReferrers(id: string, asked: boolean): void {
    if (asked && this.referenced.has(id)) {
      throw new ApiError(400, { message: 'Assets is referenced by a content and cannot be deleted.', errorCode: 'OBJECT_REFERENCED' });
    }
  }

  conflictError(id: string): ApiError {
    return new ApiError(409, { message: `Entity (${this.aggregate(id)}) already exists.`, errorCode: 'OBJECT_CONFLICT' });
  }

  /** App-wide duplicate rule of FindAssetByHashAsync: same hash, current name and size, not deleted. */
  findDuplicate(hash: string, fileName: string, size: number): AssetRec | undefined {
    for (const a of this.assets.values()) {
      if (!a.deleted && a.fileHash === hash && a.fileName === fileName && a.fileSize === size) return a;
    }
    return undefined;
  }

  createFolder(folderName: string, parentId: string): FolderRec {
    if (!folderName.trim()) throw validation('FolderName: Folder name is required.');
    this.mustBeValidFolder(parentId);
    const f: FolderRec = { id: randomUUID(), parentId, folderName, version: 0, deleted: false };
    this.folders.set(f.id, f);
    return f;
  }

  /** The breadcrumb root → folder, including the folder itself. */
  pathOf(id: string): FolderRec[] {
    const path: FolderRec[] = [];
    const seen = new Set<string>();
    let cur = this.folders.get(id);
    while (cur && !cur.deleted && !seen.has(cur.id)) {
      seen.add(cur.id);
      path.unshift(cur);
      cur = cur.parentId === ROOT_ID ? undefined : this.folders.get(cur.parentId);
    }
    return path;
  }

  moveFolder(f: FolderRec, parentId: string): void {
    if (parentId === f.parentId) return;
    this.mustBeValidFolder(parentId);
    // Moving into itself is treated as recursion too: the real guard's index check lets it through (UNVERIFIED),
    // but that would leave a cycle no breadcrumb walk could end.
    if (parentId === f.id || this.pathOf(parentId).some((p) => p.id === f.id)) {
      throw validation('ParentId: Cannot add folder to its own child.');
    }
    f.parentId = parentId;
    f.version++;
  }

  /** Real Squidex deletes descendants asynchronously (RecursiveDeleter); here it is immediate. */
  deleteFolder(f: FolderRec): void {
    f.deleted = true;
    f.version++;
    const doomed = new Set([f.id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const c of this.folders.values()) {
        if (!c.deleted && doomed.has(c.parentId)) {
          c.deleted = true;
          c.version++;
          doomed.add(c.id);
          grew = true;
        }
      }
    }
    const now = Date.now();
    for (const a of this.assets.values()) {
      if (!a.deleted && doomed.has(a.parentId)) {
        a.deleted = true;
        a.version++;
        a.lastModified = now;
      }
    }
  }

  /** CreateCore: a new asset, or the re-creation of a soft-deleted id whose version continues. */
  createAsset(id: string, parentId: string, up: Upload): AssetRec {
    this.mustBeValidFolder(parentId);
    const previous = this.assets.get(id);
    const now = Date.now();
    const fileType = fileTypeOf(up.fileName);
    const a: AssetRec = {
      id,
      parentId,
      fileName: up.fileName,
      slug: slugify(up.fileName),
      mimeType: up.mimeType,
      fileSize: up.size,
      fileHash: fileHashOf(up.digest, up.fileName, up.size),
      sha256: up.digest.toString('hex'),
      bytes: up.bytes,
      metadata: {},
      tags: [`type/${fileType}`],
      isProtected: false,
      version: previous ? previous.version + 1 : 0,
      fileVersion: 0,
      created: now,
      lastModified: now,
      createdBy: this.actor,
      lastModifiedBy: this.actor,
      deleted: false,
    };
    this.assets.set(id, a);
    this.createdIds.set(id, (this.createdIds.get(id) ?? 0) + 1);
    return a;
  }

  /** UpdateCore (replace content): name and slug stay, the hash uses the uploaded name, equal hash is no event. */
  replaceContent(a: AssetRec, up: Upload): void {
    const hash = fileHashOf(up.digest, up.fileName, up.size);
    if (hash === a.fileHash) return;
    Object.assign(a, {
      mimeType: up.mimeType,
      fileSize: up.size,
      fileHash: hash,
      sha256: up.digest.toString('hex'),
      bytes: up.bytes,
      metadata: {},
      fileVersion: a.fileVersion + 1,
    });
    this.touch(a);
  }

  moveAsset(a: AssetRec, parentId: string): void {
    if (parentId === a.parentId) return;
    this.mustBeValidFolder(parentId);
    a.parentId = parentId;
    this.touch(a);
  }

  touch(a: AssetRec): void {
    a.version++;
    a.lastModified = Date.now();
    a.lastModifiedBy = this.actor;
  }

  inspect(): Omit<Inspection, 'tus'> {
    return {
      folders: [...this.folders.values()].map((f) => ({ ...f })),
      assets: [...this.assets.values()].map((a) => ({
        id: a.id,
        parentId: a.parentId,
        fileName: a.fileName,
        slug: a.slug,
        mimeType: a.mimeType,
        fileSize: a.fileSize,
        fileHash: a.fileHash,
        sha256: a.sha256,
        metadata: structuredClone(a.metadata),
        tags: [...a.tags],
        version: a.version,
        fileVersion: a.fileVersion,
        deleted: a.deleted,
      })),
      counters: structuredClone(this.counters),
      createdIds: Object.fromEntries(this.createdIds),
    };
  }
}
