import type { ServerChanges } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import { SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { SquidexClient } from '../squidex/index.js';
import type { FileRow, State } from '../state/index.js';
import type { Outcome } from '../worker/context.js';
import { contentChange } from './content.js';
import { verifyStore } from './store.js';

export interface GuardDeps {
  client: Pick<SquidexClient, 'getAsset'>;
  state: State;
  logger: Logger;
  clock: Clock;
  mode: ServerChanges;
}

/**
 * Before new content from the share replaces an asset's content: is what the
 * asset holds still what we last wrote? If someone uploaded other content in
 * Squidex meanwhile, `report` leaves it (listed in `status`, named in the log)
 * and `restore` overwrites it (named in the log). One GET per replace.
 */
export class ServerChangeGuard {
  constructor(private readonly deps: GuardDeps) {}

  async beforeReplace(mapping: string, row: FileRow, signal?: AbortSignal): Promise<Outcome | undefined> {
    const { client, state, logger, clock, mode } = this.deps;
    let asset: Awaited<ReturnType<typeof client.getAsset>>;
    try {
      asset = await client.getAsset(row.assetId, { signal });
    } catch (e) {
      if (e instanceof SyncError && e.code === 'GONE') return undefined;
      throw e;
    }
    // Deleted in Squidex: the upload brings it back under its id, as it always did for a changed file.
    if (!asset || row.sha256 === null) return undefined;
    const store = verifyStore(state.db);
    const why = contentChange(asset, row.sha256, store);
    if (!why) return undefined;
    const fields = { mapping, path: row.path, assetId: row.assetId };
    if (mode === 'restore') {
      logger.warn(fields, "overwriting %s in Squidex: %s (sync.serverChanges: restore puts the share's version back)", row.path, why);
      return undefined;
    }
    // Warned once; a rescan that finds the same held file again only notes it.
    const detail = `${why}; the newer file on the share waits`;
    const seen = store.driftDetail(row.assetId, 'content') === detail;
    if (!seen) store.putDrift({ mapping, path: row.path, assetId: row.assetId, kind: 'content', detail }, clock.now());
    return {
      action: 'hold',
      detail:
        `not uploading ${row.path}: ${why}. Left as it is (sync.serverChanges: report). ` +
        "To upload the share's version, run `squidex-sync verify --repair` (with the daemon stopped) or set sync.serverChanges: restore.",
      warn: !seen,
    };
  }
}
