import { spawn } from 'node:child_process';
import { readLockHolder } from '../state/index.js';
import { readToken, tokenFile } from '../service/webauth.js';
import { EXIT, usage } from './exit.js';
import { readConfig } from './runtime.js';

/**
 * `squidex-sync open`: the local page's address with its token, printed, and
 * opened in the default browser where there is one. The token is read from
 * the file the daemon wrote beside its state (readable by its user only), so
 * this works for that user, and for nobody else.
 */
export async function openPage(configFile: string, opts: { browser?: boolean } = {}): Promise<number> {
  const config = readConfig(configFile, 'allow');
  if (config.http.port === 0)
    throw usage('The local page is off (http.port: 0 in the config). Set http.port, e.g. 7463, and restart the daemon.');
  const token = readToken(config.state);
  if (!token) {
    console.error(`No access token at ${tokenFile(config.state)} yet: start the daemon once (squidex-sync start), then run this again.`);
    return EXIT.USAGE;
  }
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${host}:${config.http.port}/?token=${token}`;
  console.log(url);
  if (readLockHolder(config.state) === null)
    console.error('The daemon is not running: the page answers once it runs (squidex-sync start).');
  if (opts.browser ?? true) openInBrowser(url);
  return EXIT.OK;
}

/** Best effort: a server without a desktop has no browser, and that is fine (the URL is printed). */
function openInBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : process.env.DISPLAY || process.env.WAYLAND_DISPLAY
          ? ['xdg-open', [url]]
          : [undefined, []];
  if (!cmd) return;
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener installed
  }
}
