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
  return mime.getType(fileName) ?? 'application/octet-stream';
}
