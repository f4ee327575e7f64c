/**
 * Text for a terminal. File names on a share and error texts a server sends
 * are written by others: a name holding ESC sequences could recolour the
 * screen, fake lines, retitle the window or set the clipboard (OSC 52) when
 * `status` or a log line prints it. Every text output passes untrusted
 * strings through here.
 *
 * Escaped: C0 (U+0000–U+001F, so also newline and tab), DEL (U+007F) and C1
 * (U+0080–U+009F, which some terminals read as ESC+letter). \n, \r and \t keep
 * their short forms; the rest become \xHH. Backslashes are left alone, so a
 * name stays readable; an escaped name is for reading, not for pasting.
 *
 * JSON keeps its values exactly; JSON.stringify escapes C0 but writes DEL and
 * C1 raw, so jsonForTerminal() spells those as \u escapes (same value parsed).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

function escapeControl(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

const RAW_IN_JSON = /[\u007f-\u009f]/g;

/** Serialised JSON (a log line, `status --json`) with DEL and C1 as \u escapes: parses to the same value. */
export function jsonForTerminal(json: string): string {
  return json.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line's worth of untrusted text (a path, a name, an error message). */
export function printable(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return s.replace(CONTROL, escapeControl);
}

/** Text whose line breaks are ours (a multi-line error such as a config problem list). */
export function printableLines(value: unknown): string {
  const s = typeof value === 'string' ? value : String(value);
  return s.replace(CONTROL_BUT_NEWLINE, escapeControl);
}

/**
 * A copy with every string inside escaped: a report about to be laid out as text, or a log
 * record for the pretty (terminal) output. JSON-shaped data only: numbers, booleans and null
 * pass unchanged.
 */
export function printableDeep<T>(value: T): T {
  return deep(value) as T;
}

function deep(value: unknown): unknown {
  if (typeof value === 'string') return printable(value);
  if (Array.isArray(value)) return value.map(deep);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  const { message } = value as { message?: unknown };
  for (const [k, v] of Object.entries(value)) {
    out[printable(k)] = k === 'stack' && typeof v === 'string' ? printableStack(v, message) : deep(v);
  }
  return out;
}

/** A stack keeps its own line breaks, but not those of the message it begins with. */
function printableStack(stack: string, message: unknown): string {
  const at = typeof message === 'string' && message !== '' ? stack.indexOf(message) : -1;
  if (at < 0) return printableLines(stack);
  return printableLines(stack.slice(0, at)) + printable(message) + printableLines(stack.slice(at + (message as string).length));
}
