import { createHash } from 'node:crypto';
import { fileTypeOf, type AssetRec, type FolderRec } from './store.js';

type Link = { href: string; method: string };

/** Squidex's readable size: 1024 steps, one decimal, "0 bytes" / "19 kB" / "1.5 MB". */
export function readableSize(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number(v.toFixed(1))} ${units[u]}`;
}

export function folderDto(app: string, f: FolderRec): Record<string, unknown> {
  const self = `/api/apps/${app}/assets/folders/${f.id}`;
  return {
    _links: {
      update: { href: self, method: 'PUT' },
      move: { href: `${self}/parent`, method: 'PUT' },
      delete: { href: self, method: 'DELETE' },
    },
    id: f.id,
    parentId: f.parentId,
    folderName: f.folderName,
    version: f.version,
  };
}

export function assetDto(app: string, rootUrl: string, a: AssetRec, isDuplicate = false): Record<string, unknown> {
  const self = `/api/apps/${app}/assets/${a.id}`;
  const links: Record<string, Link> = {
    self: { href: self, method: 'GET' },
    update: { href: self, method: 'PUT' },
    move: { href: `${self}/parent`, method: 'PUT' },
    upload: { href: `${self}/content`, method: 'PUT' },
    delete: { href: self, method: 'DELETE' },
    content: { href: a.slug ? `/api/assets/${app}/${a.id}/${a.slug}` : `/api/assets/${app}/${a.id}`, method: 'GET' },
  };
  if (a.slug) links['content/slug'] = { href: `/api/assets/${app}/${a.slug}`, method: 'GET' };
  const dto: Record<string, unknown> = {
    _links: links,
    id: a.id,
    parentId: a.parentId,
    fileName: a.fileName,
    fileHash: a.fileHash,
    isProtected: a.isProtected,
    slug: a.slug,
    mimeType: a.mimeType,
    fileType: fileTypeOf(a.fileName),
    metadataText: readableSize(a.fileSize),
    editToken: Buffer.from(JSON.stringify({ a: app, i: a.id, u: rootUrl })).toString('base64'),
    metadata: a.metadata,
    tags: a.tags,
    fileSize: a.fileSize,
    fileVersion: a.fileVersion,
    // Images are not decoded here, so every asset is "Unknown" (no pixel sizes, no image tags).
    type: 'Unknown',
    createdBy: a.createdBy,
    lastModifiedBy: a.lastModifiedBy,
    created: new Date(a.created).toISOString(),
    lastModified: new Date(a.lastModified).toISOString(),
    version: a.version,
  };
  if (isDuplicate) dto._meta = { isDuplicate: 'true' };
  dto.isImage = false;
  return dto;
}

/** GET responses carry a quoted upper-case hex hash ETag (CachingManager), not a version. */
export function hashEtag(body: unknown): Record<string, string> {
  return { ETag: `"${createHash('sha256').update(JSON.stringify(body)).digest('hex').toUpperCase()}"` };
}
