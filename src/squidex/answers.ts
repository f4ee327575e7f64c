/**
 * Reading what a server sent back, for the classification in classify.ts: the
 * JSON error body, headers, Retry-After, an HTML page from a proxy, and the
 * network error code under undici's wrappers.
 */

/** The longest pause a server may ask for, unless configured (sync.maxServerPauseSeconds). */
export const DEFAULT_MAX_SERVER_PAUSE_MS = 3_600_000;

export interface ParsedBody {
  message?: string;
  errorCode?: string;
  traceId?: string;
  details?: string[];
  error?: string;
  errorDescription?: string;
}

export function parseBody(body: string): ParsedBody {
  try {
    const j = JSON.parse(body) as Record<string, unknown>;
    if (!j || typeof j !== 'object') return {};
    const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
    return {
      message: str(j.message),
      errorCode: str(j.errorCode),
      traceId: str(j.traceId),
      details: Array.isArray(j.details) ? j.details.filter((d): d is string => typeof d === 'string') : undefined,
      error: str(j.error),
      errorDescription: str(j.error_description),
    };
  } catch {
    return {};
  }
}

export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3); never more than `maxMs`. */
export function parseRetryAfter(value: string | undefined, now: number, maxMs = DEFAULT_MAX_SERVER_PAUSE_MS): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, maxMs);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), maxMs);
}

/**
 * Squidex answers JSON (or nothing); an HTML page comes from something in front of it: a
 * proxy's error page, a load balancer with no backend, a captive portal or VPN login.
 */
export function looksLikeHtml(headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const type = header(headers, 'content-type') ?? '';
  if (/text\/html|application\/xhtml/i.test(type)) return true;
  return /^\s*<(!doctype|html|head|body|title|center|h1)\b/i.test(body);
}

/** The title of an HTML error page, for the message ("502 Bad Gateway"); never the whole page. */
export function htmlTitle(body: string): string | undefined {
  const m = /<title[^>]*>([^<]{1,120})<\/title>/i.exec(body) ?? /<h1[^>]*>([^<]{1,120})<\/h1>/i.exec(body);
  return m ? m[1].replace(/\s+/g, ' ').trim() : undefined;
}

export function errorCodeOf(e: unknown): string | undefined {
  // undici may wrap the socket's own error (ECONNRESET, EPIPE) as the cause of a generic
  // UND_ERR_SOCKET; the deeper, more specific code wins.
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let cur: unknown = e; cur && typeof cur === 'object' && !seen.has(cur); cur = (cur as { cause?: unknown }).cause) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes.find((c) => c !== 'UND_ERR_SOCKET') ?? codes[0];
}
