import { execFile } from 'node:child_process';
import { silentLogger, type Logger } from '../lib/log.js';
import { timerDelay } from '../lib/timers.js';

/**
 * sd_notify(3) without a native dependency.
 *
 * The protocol is one datagram on the unix socket named by NOTIFY_SOCKET, but
 * Node's dgram has no AF_UNIX datagram sockets, and an addon for four
 * messages is not worth a compiler on every install. systemd ships
 * `systemd-notify`, which sends the datagram for us. Because the sender is
 * then a child process, the unit needs `NotifyAccess=all`; systemd-notify
 * (since v246) waits until systemd has processed the message, so systemd can
 * still attribute it to our unit although the child exits right away.
 * `--pid=` names the daemon as the unit's main PID with READY=1, which keeps
 * it right even when ExecStart is a wrapper script.
 */

export interface NotifyMessage {
  ready?: boolean;
  /** Free text shown by `systemctl status`; one line. */
  status?: string;
  stopping?: boolean;
  watchdog?: boolean;
  /** Sent with ready: the PID systemd should treat as the service. */
  mainPid?: number;
}

/** The systemd-notify arguments for one message (exported for tests). */
export function notifyArgs(msg: NotifyMessage): string[] {
  const args: string[] = [];
  if (msg.ready) {
    args.push('--ready');
    if (msg.mainPid !== undefined) args.push(`--pid=${msg.mainPid}`);
  }
  // A newline would start a new VARIABLE=VALUE line in the datagram.
  if (msg.status !== undefined) args.push(`--status=${msg.status.replace(/[\r\n]+/g, ' ')}`);
  if (msg.stopping) args.push('STOPPING=1');
  if (msg.watchdog) args.push('WATCHDOG=1');
  return args;
}

/**
 * Half of WATCHDOG_USEC in ms (sd_watchdog_enabled(3) recommends pinging at
 * half the timeout), or undefined when the watchdog is off or meant for
 * another process (WATCHDOG_PID set and not ours).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export type NotifyRunner = (command: string, args: string[], env: NodeJS.ProcessEnv) => Promise<void>;

export interface NotifierOptions {
  env?: NodeJS.ProcessEnv;
  pid?: number;
  /** Default `systemd-notify` from PATH. */
  command?: string;
  /** How the command is run; tests pass a recorder. */
  run?: NotifyRunner;
  logger?: Logger;
}

export interface SdNotifier {
  /** False when not started by systemd with Type=notify: every method is then a no-op. */
  readonly enabled: boolean;
  readonly watchdogIntervalMs: number | undefined;
  ready(status?: string): Promise<void>;
  status(text: string): Promise<void>;
  stopping(status?: string): Promise<void>;
  watchdog(): Promise<void>;
  /**
   * Ping WATCHDOG=1 at half of WATCHDOG_USEC. The timer runs on the event
   * loop, so a blocked loop stops the pings and systemd restarts us;
   * `alive` lets the daemon withhold a ping when it knows it is stuck.
   */
  startWatchdog(alive?: () => boolean): void;
  /** Stop the watchdog timer. */
  close(): void;
}

const defaultRun: NotifyRunner = (command, args, env) =>
  new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: 5_000 }, (err, _stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr).trim() }));
      else resolve();
    });
  });

export function createNotifier(options: NotifierOptions = {}): SdNotifier {
  const env = options.env ?? process.env;
  const pid = options.pid ?? process.pid;
  const command = options.command ?? 'systemd-notify';
  const run = options.run ?? defaultRun;
  const logger = options.logger ?? silentLogger;
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const interval = enabled ? watchdogIntervalMs(env, pid) : undefined;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  // One message after another: READY must not overtake an earlier STATUS, nor STOPPING a late WATCHDOG.
  let chain: Promise<void> = Promise.resolve();

  const send = (msg: NotifyMessage): Promise<void> => {
    if (!enabled) return Promise.resolve();
    chain = chain.then(() =>
      run(command, notifyArgs(msg), env).catch((err: unknown) => {
        // Best effort: a lost notification must not stop the daemon. Warn once, not every watchdog tick.
        if (!warned) {
          warned = true;
          logger.warn({ err, command }, 'cannot notify systemd; is systemd-notify installed and NotifyAccess=all set in the unit?');
        }
      }),
    );
    return chain;
  };

  return {
    enabled,
    watchdogIntervalMs: interval,
    ready: (status) => send({ ready: true, mainPid: pid, status }),
    status: (text) => send({ status: text }),
    stopping: (status) => send({ stopping: true, status }),
    watchdog: () => send({ watchdog: true }),
    startWatchdog(alive) {
      if (interval === undefined || timer) return;
      timer = setInterval(() => {
        if (!alive || alive()) void send({ watchdog: true });
      }, timerDelay(interval));
      // The watchdog serves the daemon; it must not be the thing that keeps it running.
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
