import type { FolderDto } from './types.js';

/** Small encoders shared by the client: URL parts, OData literals, JSON. */
export type Query = Record<string, string | number | boolean | undefined>;

export function enc(s: string): string {
  return encodeURIComponent(s);
}

/** OData string literal: single quotes doubled (OData ABNF `SQUOTE-in-string`). */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `$filter` etc. keep their `$` literally (Squidex parses the raw query string); values are percent-encoded. */
export function queryString(query: Query | undefined): string {
  const parts = Object.entries(query ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function toFolder(f: FolderDto): FolderDto {
  return { id: f.id, parentId: f.parentId, folderName: f.folderName, version: f.version };
}
