import type { Config } from '../config/index.js';
import { openState, type State } from '../state/index.js';
import { EXIT, usage } from './exit.js';
import { pauseKey, readConfig } from './runtime.js';

/**
 * `pause [MAPPING]` / `resume [MAPPING]`: a flag in the state file, so it
 * survives restarts and a running daemon sees it at its next claim. Events
 * keep being queued while paused; they run after resume.
 */
export async function setPaused(configFile: string, args: string[], paused: boolean): Promise<number> {
  const config = readConfig(configFile, 'allow', 'unused');
  if (args.length > 1) throw usage('pause/resume take at most one mapping name.');
  const name = args[0];
  const state = openState(config.state, { recover: false });
  try {
    applyPause(state, config, name, paused);
    console.log(pauseMessage(name, paused));
    return EXIT.OK;
  } finally {
    state.close();
  }
}

/** The flags behind pause/resume, for the CLI and the local page alike. */
export function applyPause(state: State, config: Config, name: string | undefined, paused: boolean): void {
  if (name !== undefined && !config.mappings.some((m) => m.name === name)) {
    throw usage(`No mapping named "${name}". Mappings: ${config.mappings.map((m) => m.name).join(', ')}.`);
  }
  if (name === undefined) {
    // "All" is its own flag, and resume-all clears every per-mapping flag too.
    if (paused) state.meta.set(pauseKey('*'), '1');
    else for (const key of ['*', ...config.mappings.map((m) => m.name)]) state.meta.delete(pauseKey(key));
  } else if (paused) {
    state.meta.set(pauseKey(name), '1');
  } else {
    state.meta.delete(pauseKey(name));
    if (state.meta.get(pauseKey('*'))) {
      // Resuming one mapping out of "all paused": pause the others one by one.
      state.meta.delete(pauseKey('*'));
      for (const m of config.mappings) if (m.name !== name) state.meta.set(pauseKey(m.name), '1');
    }
  }
}

export function pauseMessage(name: string | undefined, paused: boolean): string {
  const what = name ?? 'all mappings';
  return paused ? `paused ${what}: uploads stop, changes are still recorded` : `resumed ${what}`;
}
