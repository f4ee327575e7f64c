import type { Config } from '../config/index.js';
import type { HealthTracker } from '../service/health.js';
import type { Activity } from '../service/activity.js';
import { buildOverview } from '../service/overview.js';
import type { WebActions, WebOptions } from '../service/web.js';
import { settleHeld, type Settled } from './confirm.js';
import { applyPause, pauseMessage } from './pause.js';
import type { Runtime } from './runtime.js';
import { collectStatus } from './status.js';

/** The local page wired to the running daemon: what it shows and what its buttons do. */
export function webFor(
  rt: Runtime,
  config: Config,
  deps: { token: string; health: HealthTracker; activity: Activity },
): Omit<WebOptions, 'hosts' | 'logger'> {
  const state = rt.state;
  const actions: WebActions = {
    pause: (mapping) => {
      applyPause(state, config, mapping, true);
      return pauseMessage(mapping, true);
    },
    resume: (mapping) => {
      applyPause(state, config, mapping, false);
      rt.pool.wake();
      return pauseMessage(mapping, false);
    },
    retry: (mapping, path) => {
      knownMapping(config, mapping);
      const refs = state.jobs
        .failed(100_000)
        .filter((f) => (mapping === undefined || f.mapping === mapping) && (path === undefined || f.path === path));
      const n = refs.length === 0 ? 0 : state.jobs.requeueFailed(refs.map((f) => ({ mapping: f.mapping, path: f.path })));
      rt.pool.wake();
      return n === 0 ? 'nothing to retry' : `re-queued ${n} failed path${n === 1 ? '' : 's'}`;
    },
    // The same flags as `squidex-sync confirm-deletes`; the pool runs the re-queued paths at once.
    confirmDeletes: (mapping) => settled(settleHeld(state, config, { mapping, how: 'delete', now: rt.clock.now() }), rt),
    keepDeletes: (mapping) => settled(settleHeld(state, config, { mapping, how: 'keep', now: rt.clock.now() }), rt),
  };
  return {
    token: deps.token,
    actions,
    overview: () =>
      buildOverview({
        status: () => collectStatus(state, config),
        server: () => deps.health.server(),
        activity: deps.activity,
        assetOf: (mapping, path) => {
          const row = state.files.get(mapping, path);
          return row ? { assetId: row.assetId, size: row.size } : undefined;
        },
        squidex: { url: config.squidex.url, app: config.squidex.app },
        now: () => rt.clock.now(),
      }),
  };
}

function settled(results: Settled[], rt: Runtime): string {
  rt.pool.wake();
  return results.map((r) => r.message).join(' ');
}

function knownMapping(config: Config, name: string | undefined): void {
  if (name !== undefined && !config.mappings.some((m) => m.name === name)) throw new Error(`no mapping named "${name}"`);
}
