import { createHash } from 'node:crypto';
import mime from 'mime';

/**
 * Squidex's own `fileHash` (reference/squidex-api.md §4):
 * base64(sha256(utf8(base64(sha256(bytes)) + fileName + decimal(size)))).
 * Takes the inner content hash rather than the bytes, so a caller that already
 * hashed a file while streaming it never reads it a second time.
 */
export function squidexFileHash(contentSha256Base64: string, fileName: string, size: number): string {
  return createHash('sha256').update(`${contentSha256Base64}${fileName}${size}`, 'utf8').digest('base64');
}

/**
 * The part Content-Type Squidex stores as the asset's mimeType. It never sniffs
 * (§2.1) and rejects a part without one, so there is always a value.
 */
export function contentTypeFor(fileName: string): string {
  // For a plain name with an extension the type follows from the extension alone: looked up once per extension, not per file.
  const ext = EXTENDED.exec(fileName)?.[1]?.toLowerCase();
  if (ext === undefined) return mime.getType(fileName) ?? 'application/octet-stream';
  let type = byExtension.get(ext);
  if (type === undefined) {
    type = mime.getType(fileName) ?? 'application/octet-stream';
    if (byExtension.size >= 1000) byExtension.clear();
    byExtension.set(ext, type);
  }
  return type;
}

const EXTENDED = /^[^/\\]+\.([A-Za-z0-9]+)$/;
const byExtension = new Map<string, string>();
