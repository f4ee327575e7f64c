import { existsSync, readdirSync } from 'node:fs';
import type { Config, Mapping } from '../config/index.js';
import { openState, readLockHolder, type State } from '../state/index.js';
import { confirmKey, guardKey, keepKey, missingRootReason } from '../worker/deleteguard.js';
import { EXIT, usage } from './exit.js';
import { readConfig } from './runtime.js';

/**
 * `confirm-deletes [MAPPING]`: the deletions the delete guard holds are meant.
 * Like `pause`, a flag in the state file, so it works beside the running
 * daemon (which holds the lock): the held paths go back to the queue, and the
 * guard lets through every file that was already missing now. Files that
 * vanish later are guarded again.
 */
export async function confirmDeletes(configFile: string, args: string[]): Promise<number> {
  const config = readConfig(configFile, 'allow', 'unused');
  if (args.length > 1) throw usage('confirm-deletes takes at most one mapping name.');
  if (!existsSync(config.state)) {
    console.log(`nothing to confirm: no state yet at ${config.state}`);
    return EXIT.OK;
  }
  const state = openState(config.state, { recover: false });
  try {
    const results = settleHeld(state, config, { mapping: args[0], how: 'delete', now: Date.now() });
    for (const r of results) console.log(r.message);
    if (results.some((r) => r.settled > 0)) {
      console.log(
        readLockHolder(config.state)
          ? 'The running daemon applies them now.'
          : 'They are applied at the next `squidex-sync once` or `start`.',
      );
    }
    return results.some((r) => r.refused) ? EXIT.FAILED_PATHS : EXIT.OK;
  } finally {
    state.close();
  }
}

export interface Settled {
  mapping: string;
  /** Held deletions handed back to the queue. */
  settled: number;
  /** The mapping folder is missing: never confirmed. */
  refused: boolean;
  message: string;
}

/**
 * The held deletions of one mapping (or all) are settled: 'delete' lets them
 * go through as the mapping's policy says (confirm-deletes, the page's
 * "Delete them"); 'keep' forgets the files and keeps their assets on the
 * server whatever the policy (the page's "Keep"). For the CLI and the page.
 */
export function settleHeld(state: State, config: Config, req: { mapping?: string; how: 'delete' | 'keep'; now: number }): Settled[] {
  const { mapping: name, how, now } = req;
  if (name !== undefined && !config.mappings.some((m) => m.name === name)) {
    throw usage(`No mapping named "${name}". Mappings: ${config.mappings.map((m) => m.name).join(', ')}.`);
  }
  return config.mappings.filter((m) => name === undefined || m.name === name).map((m) => settleOne(state, m, how, now));
}

function settleOne(state: State, m: Mapping, how: 'delete' | 'keep', now: number): Settled {
  const base = { mapping: m.name, settled: 0, refused: false };
  if (!readable(m.local)) {
    return {
      ...base,
      refused: true,
      message: `${m.name}: ${missingRootReason(m.local)}. Nothing confirmed: mount the share (or put the folder back), or remove the mapping from the config.`,
    };
  }
  const held = state.files.missingPaths(m.name);
  if (held.length === 0) {
    const pending = state.meta.get(guardKey(m.name));
    return {
      ...base,
      message: pending ? `${m.name}: the held files are still being counted; try again in a few seconds.` : `${m.name}: no deletions held`,
    };
  }
  state.files.batch(() => {
    state.meta.set(how === 'keep' ? keepKey(m.name) : confirmKey(m.name), String(now));
    state.meta.delete(guardKey(m.name));
    state.jobs.enqueueMany(held.map((path) => ({ mapping: m.name, path, reason: 'gone', delayMs: 0 })));
  });
  const n = `${held.length} held deletion${held.length === 1 ? '' : 's'}`;
  const what =
    how === 'keep' || m.deletes !== 'delete'
      ? 'the files are forgotten, their assets stay on the server'
      : 'their assets go to the Squidex recycle bin';
  return { ...base, settled: held.length, message: `${m.name}: ${how === 'keep' ? 'kept' : 'confirmed'} ${n}; ${what}.` };
}

function readable(dir: string): boolean {
  try {
    readdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
