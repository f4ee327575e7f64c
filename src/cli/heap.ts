// Imported first by main.ts, so it runs before any other module allocates.
import { setV8Flag } from '../lib/v8flags.js';

/** The command in argv ahead of parseCli: the first argument that is neither an option nor --config's value. */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--config' || a === '-c') i += 1;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/**
 * The daemon keeps V8's young generation at its starting size (two semi-spaces
 * of 1 MiB). By default a burst of short-lived objects (the start rescan's walk
 * over every file) grows it to 2 × 16 MiB, and an idle daemon collects too
 * rarely to give that back. The size can only be set at launch
 * (--max-semi-space-size), which the npm shims and service managers do not
 * pass on alike; the growth factor is read each time V8 would grow the space,
 * so it still applies when set here (and again after each worker thread
 * starts, see setV8Flag). V8 versions that hold the factor at 2 or more take it
 * as a no-op.
 */
export function boundYoungGeneration(command: string | undefined): boolean {
  if (command !== 'start') return false;
  setV8Flag('--semi-space-growth-factor=1');
  return true;
}

boundYoungGeneration(commandOf(process.argv.slice(2)));
