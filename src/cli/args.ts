import { parseArgs } from 'node:util';
import { didYouMean } from '../config/reader.js';
import { usage } from './exit.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'allow-mass-delete': { type: 'boolean' },
  'no-browser': { type: 'boolean' },
  repair: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

type Name = keyof typeof OPTIONS;

/** The options each command reads besides --config, --help and --version. */
const PER_COMMAND: Record<string, readonly Name[]> = {
  once: ['dry-run', 'allow-mass-delete'],
  status: ['json'],
  open: ['no-browser'],
  verify: ['json', 'repair'],
};
const COMMON: readonly Name[] = ['config', 'help', 'version'];

export interface Args {
  command: string | undefined;
  rest: string[];
  values: {
    config?: string;
    'dry-run'?: boolean;
    json?: boolean;
    'allow-mass-delete'?: boolean;
    'no-browser'?: boolean;
    repair?: boolean;
    help?: boolean;
    version?: boolean;
  };
}

/**
 * parseArgs, with answers like the config's: an unknown option is named with
 * the one it probably meant, and an option of another command says whose it is.
 */
export function parseCli(argv: string[]): Args {
  const loose = parseArgs({ args: argv, allowPositionals: true, strict: false, tokens: true, options: OPTIONS });
  const command = loose.positionals[0];
  const allowed = [...COMMON, ...(command ? (PER_COMMAND[command] ?? []) : Object.values(PER_COMMAND).flat())];
  for (const t of loose.tokens) {
    if (t.kind !== 'option') continue;
    const name = t.name as Name;
    if (allowed.includes(name)) continue;
    const shown = t.rawName.split('=')[0];
    if (name in OPTIONS) {
      throw usage(`${shown} is not an option of "${command}"; its options: ${allowed.map((o) => `--${o}`).join(', ')}.`);
    }
    const near = didYouMean(name, allowed);
    throw usage(
      `unknown option ${shown}${near ? ` — did you mean --${near}?` : `; options${command ? ` of "${command}"` : ''}: ${allowed.map((o) => `--${o}`).join(', ')}`}`,
    );
  }
  // Strict for what is left: a missing value (`--config` at the end) or a value given to a switch.
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  const [cmd, ...rest] = positionals;
  return { command: cmd, rest, values };
}
