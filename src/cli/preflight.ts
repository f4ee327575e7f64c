import type { Config } from '../config/index.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { pause } from '../lib/timers.js';
import type { Availability } from '../squidex/availability.js';
import { failureScope, SquidexError } from '../squidex/errors.js';
import { ROOT_FOLDER_ID, type FolderDto, type SquidexClient } from '../squidex/index.js';

export interface PreflightOptions {
  /**
   * 'fail' (`once`): a Squidex that does not answer is tried again for `retry.forMs`,
   * then exit 3. 'continue' (the daemon): it starts anyway and waits for Squidex
   * (`availability` records the outage), because its queue never gives up.
   */
  unreachable: 'fail' | 'continue';
  /** A promise when the answer comes later than the token is sent (`once` reads it from the state it opens meanwhile). */
  checkApp?: boolean | Promise<boolean>;
  /** How long, and how often, `once` asks again while the answers are transient (network, 5xx, 429). */
  retry?: { forMs: number; baseMs: number; maxMs: number; now(): number };
  availability?: Pick<Availability, 'failed'>;
}

/**
 * Before any work: is the secret accepted and does the app exist? Both are
 * configuration mistakes no retry can fix, so `once` and `start` exit 3 naming
 * which one at once, instead of failing every file (once) or retrying forever (start).
 *
 * A server that does not answer properly is different: a blip (a proxy's 503, a
 * 429, a dropped connection) is ridden out, and a reboot that starts the daemon
 * before the network must not need an operator.
 *
 * Resolves to the app check's answer, the root's folders (undefined without the check, or when
 * the daemon goes on without it): the folder resolver takes it as its first root listing.
 */
export async function preflight(
  client: SquidexClient,
  config: Config,
  logger: Logger,
  opts: PreflightOptions,
): Promise<FolderDto[] | undefined> {
  const retry = opts.retry;
  const deadline = retry ? retry.now() + retry.forMs : 0;
  let delay = retry?.baseMs ?? 0;
  for (let round = 1; ; round++) {
    try {
      await client.token();
      // `once` over an unchanged tree asks for the app only when there is work:
      // a restart with nothing to do then costs a token and nothing else.
      return (await (opts.checkApp ?? true)) ? await client.listFolders(ROOT_FOLDER_ID) : undefined;
    } catch (e) {
      refuseConfigMistakes(e, config);
      const scope = failureScope(e);
      if (opts.unreachable === 'continue') {
        // The availability logs the outage it enters; a 429 at start is only worth a line.
        if (opts.availability && (scope === 'transient' || scope === 'global')) opts.availability.failed(e);
        else logger.warn({ code: (e as SyncError).code }, 'Squidex is not reachable yet; syncing starts when it is: %s', describeError(e));
        return undefined;
      }
      const left = retry ? deadline - retry.now() : 0;
      if (!retry || (scope !== 'transient' && scope !== 'pause')) throw unreachable(e, config, undefined);
      if (left <= 0) throw unreachable(e, config, retry.forMs);
      if (round === 1) {
        logger.warn(
          { code: (e as SyncError).code },
          'Squidex does not answer properly yet; asking again for up to %d s: %s',
          Math.round(retry.forMs / 1000),
          describeError(e),
        );
      }
      const asked = e instanceof SquidexError && scope === 'pause' ? e.retryAfterMs : undefined;
      await pause(Math.min(left, asked ?? delay));
      delay = Math.min(retry.maxMs, delay * 2);
    }
  }
}

function refuseConfigMistakes(e: unknown, config: Config): void {
  const code = e instanceof SyncError ? e.code : '';
  if (code === 'AUTH_FAILED') throw e;
  if (code === 'NOT_FOUND') {
    throw new SyncError(
      'APP_NOT_FOUND',
      `App "${config.squidex.app}" was not found on ${config.squidex.url}, or this client has no access to it.`,
      {
        cause: e,
        hint: 'Check squidex.app and that the client belongs to that app.',
      },
    );
  }
  if (code === 'FORBIDDEN') {
    throw new SyncError(
      'FORBIDDEN',
      `Client "${config.squidex.clientId ?? '(token)'}" may not read the assets of app "${config.squidex.app}": ${describeError(e)}`,
      { cause: e },
    );
  }
}

function unreachable(e: unknown, config: Config, triedMs: number | undefined): unknown {
  const code = e instanceof SyncError ? e.code : '';
  if (!triedMs && (code === 'NETWORK' || code === 'TIMEOUT')) return e;
  const tried = triedMs ? ` (asked for ${Math.round(triedMs / 1000)} s, squidex.connectTimeoutSeconds)` : '';
  return new SyncError('SQUIDEX_UNREACHABLE', `cannot reach Squidex at ${config.squidex.url}${tried}: ${describeError(e)}`, {
    cause: e,
    hint: 'Nothing was changed; run it again once Squidex answers.',
  });
}
