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
  // A loop, not entries/filter/map/join: every upload's URL is built here.
  let out = '';
  for (const k in query) {
    const v = query[k];
    if (v !== undefined) out += `${out ? '&' : '?'}${k}=${encodeURIComponent(String(v))}`;
  }
  return out;
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
