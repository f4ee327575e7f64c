import type { Config } from '../config/index.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { ROOT_FOLDER_ID, type SquidexClient } from '../squidex/index.js';

/**
 * Before any work: is the secret accepted and does the app exist? Both are
 * configuration mistakes no retry can fix, so `once` and `start` exit 3 naming
 * which one, instead of failing every file (once) or retrying forever (start).
 *
 * A server that cannot be reached is different: `once` gives up (exit 3), the
 * daemon (`unreachable: 'continue'`) logs it and starts anyway, because its
 * queue retries until the server is back — a reboot that starts it before the
 * network must not need an operator.
 */
export async function preflight(
  client: SquidexClient,
  config: Config,
  logger: Logger,
  opts: { unreachable: 'fail' | 'continue'; checkApp?: boolean },
): Promise<void> {
  try {
    await client.token();
    // `once` over an unchanged tree asks for the app only when there is work:
    // a restart with nothing to do then costs a token and nothing else.
    if (opts.checkApp ?? true) await client.listFolders(ROOT_FOLDER_ID);
  } catch (e) {
    const code = e instanceof SyncError ? e.code : '';
    if (code === 'AUTH_FAILED') throw e;
    if (code === 'NOT_FOUND') {
      throw new SyncError('APP_NOT_FOUND', `App "${config.squidex.app}" was not found on ${config.squidex.url}, or this client has no access to it.`, {
        cause: e,
        hint: 'Check squidex.app and that the client belongs to that app.',
      });
    }
    if (code === 'FORBIDDEN') {
      throw new SyncError('FORBIDDEN', `Client "${config.squidex.clientId ?? '(token)'}" may not read the assets of app "${config.squidex.app}": ${describeError(e)}`, { cause: e });
    }
    if (opts.unreachable === 'continue') {
      logger.warn({ code }, 'Squidex is not reachable yet; syncing starts when it is: %s', describeError(e));
      return;
    }
    throw code === 'NETWORK' || code === 'TIMEOUT'
      ? e
      : new SyncError('NETWORK', `cannot reach Squidex at ${config.squidex.url}: ${describeError(e)}`, { cause: e });
  }
}
