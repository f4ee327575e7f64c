/**
 * What a file, or its sidecar, says about itself: XMP (dc:subject, dc:title,
 * dc:description, dc:creator, dc:rights) or IPTC (Keywords, Object Name,
 * Caption-Abstract, By-line, Copyright Notice). An absent field says nothing.
 */
export interface FileMetadata {
  keywords?: string[];
  title?: string;
  description?: string;
  creator?: string;
  copyright?: string;
}

export const FIELDS = ['keywords', 'title', 'description', 'creator', 'copyright'] as const;

/** Per field, the first source that says something wins (a sidecar over the file, XMP over IPTC). */
export function preferFirst(...sources: Array<FileMetadata | undefined>): FileMetadata {
  const out: FileMetadata = {};
  for (const f of FIELDS) {
    for (const s of sources) {
      const v = s?.[f];
      if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
      (out as Record<string, unknown>)[f] = v;
      break;
    }
  }
  return out;
}
