import type { Logger } from '../lib/log.js';
import { EXIT } from './exit.js';

/** Beyond the drain's own limit: pm2 and systemd would SIGKILL us a little later anyway. */
export const HARD_STOP_GRACE_MS = 10_000;

/**
 * A stop must end even if one of its steps never does: the queue is crash-safe (running jobs
 * go back to it at the next start, as after a second signal), so exiting loses nothing, and
 * the log names the step that hung instead of a supervisor's bare SIGKILL. Clear the timer
 * when the stop ends in time.
 */
export function hardStopAfter(
  ms: number,
  pending: ReadonlySet<string>,
  deps: { logger: Pick<Logger, 'error'>; exit?: (code: number) => void },
): NodeJS.Timeout {
  const exit = deps.exit ?? ((code: number) => process.exit(code));
  return setTimeout(() => {
    deps.logger.error(
      { pending: [...pending] },
      'stopping took more than %d s (still waiting for: %s); exiting now, jobs not finished go back to the queue at the next start',
      Math.round(ms / 1000),
      [...pending].join(', ') || 'nothing named',
    );
    exit(EXIT.OK);
  }, ms);
}
