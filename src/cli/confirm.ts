import { existsSync, readdirSync } from 'node:fs';
import { openState, readLockHolder } from '../state/index.js';
import { confirmKey, guardKey, missingRootReason } from '../worker/gone.js';
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
  const name = args[0];
  if (name !== undefined && !config.mappings.some((m) => m.name === name)) {
    throw usage(`No mapping named "${name}". Mappings: ${config.mappings.map((m) => m.name).join(', ')}.`);
  }
  if (!existsSync(config.state)) {
    console.log(`nothing to confirm: no state yet at ${config.state}`);
    return EXIT.OK;
  }
  const state = openState(config.state, { recover: false });
  let refused = 0;
  let confirmed = 0;
  try {
    for (const m of config.mappings.filter((x) => name === undefined || x.name === name)) {
      if (!readable(m.local)) {
        refused += 1;
        console.log(`${m.name}: ${missingRootReason(m.local)}. Nothing confirmed: mount the share (or put the folder back), or remove the mapping from the config.`);
        continue;
      }
      const held = state.files.missingPaths(m.name);
      if (held.length === 0) {
        const pending = state.meta.get(guardKey(m.name));
        console.log(pending ? `${m.name}: the held files are still being counted; run this again in a few seconds.` : `${m.name}: no deletions held`);
        continue;
      }
      state.files.batch(() => {
        state.meta.set(confirmKey(m.name), String(Date.now()));
        state.meta.delete(guardKey(m.name));
        state.jobs.enqueueMany(held.map((path) => ({ mapping: m.name, path, reason: 'gone', delayMs: 0 })));
      });
      confirmed += held.length;
      const what = m.deletes === 'delete' ? 'their assets go to the Squidex recycle bin' : 'they are forgotten and stay on the server (deletes: keep)';
      console.log(`${m.name}: confirmed ${held.length} held deletion${held.length === 1 ? '' : 's'}; ${what}.`);
    }
    if (confirmed > 0) {
      console.log(readLockHolder(config.state) ? 'The running daemon applies them now.' : 'They are applied at the next `squidex-sync once` or `start`.');
    }
    return refused > 0 ? EXIT.FAILED_PATHS : EXIT.OK;
  } finally {
    state.close();
  }
}

function readable(dir: string): boolean {
  try {
    readdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
