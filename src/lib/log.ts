import { pino, type Logger, type DestinationStream } from 'pino';
import { jsonForTerminal, printableDeep, printableLines } from './printable.js';

export type { Logger };

/**
 * Keys that may hold a secret anywhere in a log object. pino's redact paths
 * do not support recursive wildcards, so we list the depths we use.
 */
const SECRET_KEYS = ['clientSecret', 'client_secret', 'token', 'access_token', 'authorization', 'Authorization', 'password'];
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `headers.${k}`, `req.headers.${k}`]);

export interface LogOptions {
  level?: string;
  /** Human-readable output; defaults to "stdout is a terminal". */
  pretty?: boolean;
  destination?: DestinationStream;
  /** Where lines go (1 stdout, 2 stderr: `once` keeps stdout for its summary). */
  fd?: 1 | 2;
}

export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.SQUIDEX_SYNC_LOG_LEVEL ?? 'info';
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    hooks: { streamWrite: jsonForTerminal },
  };
  if (options.destination) return pino(base, options.destination);
  const pretty = options.pretty ?? Boolean((options.fd === 2 ? process.stderr : process.stdout).isTTY);
  if (pretty) {
    return pino({
      ...base,
      // pino-pretty turns JSON's escapes back into raw characters: a file name's ESC sequences
      // would reach the terminal. Escape them in the record first.
      hooks: { streamWrite: prettySafe },
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', destination: options.fd ?? 1 },
      },
    });
  }
  // Synchronous: a command that exits right after its last line must not lose it.
  if (options.fd === 2) return pino(base, pino.destination({ dest: 2, sync: true }));
  return pino(base);
}

function prettySafe(line: string): string {
  try {
    return `${JSON.stringify(printableDeep(JSON.parse(line)))}\n`;
  } catch {
    return printableLines(line);
  }
}

/** A logger that drops everything: the default for library code when none is passed in. */
export const silentLogger: Logger = pino({ level: 'silent' });
