#!/usr/bin/env node
import './heap.js';
import { resolve } from 'node:path';
import { describeError } from '../lib/errors.js';
import { didYouMean } from '../config/reader.js';
import { parseCli } from './args.js';
import { printableLines } from '../lib/printable.js';
import { EXIT, exitCodeFor, usage } from './exit.js';

const GLOBAL_HELP = `squidex-sync: mirror local folders into Squidex Assets

Usage: squidex-sync <command> [--config FILE] [options]

Commands:
  start            run the daemon: rescan, then watch until SIGTERM/SIGINT
  once             one rescan, upload what differs, exit (--dry-run: print the plan only)
  status           files in sync, pending and failed, per mapping (--json)
  retry            re-queue failed paths (all when none given)
  check            validate the config, get a token, resolve the mapped folders
  pause            stop uploads for all mappings or one (events are still recorded)
  resume           undo pause
  confirm-deletes  let deletions the delete guard holds go through (beside a running daemon)
  open             print (and open in a browser) the local page's address with its token
  verify           compare disk, state and server; list drift (--repair: put the server back)

Options:
  --config FILE    the config file (default ./sync.yaml)
  --help           help for a command: squidex-sync <command> --help
  --version        print the version

Exit codes: 0 in sync, 1 some paths failed or deletions are held, 2 bad config or usage,
3 cannot reach or authenticate to Squidex.`;

const HELP: Record<string, string> = {
  start: `Usage: squidex-sync start [--config FILE]

Runs until SIGTERM or SIGINT: a full rescan first (catches what changed while
stopped), then watches the mapped folders and rescans every rescanInterval.
On a signal it stops taking work, lets uploads in flight finish (up to
sync.shutdownTimeoutMs), then exits 0; a second signal exits at once.
Nothing is lost either way: unfinished work stays queued in the state file.`,
  once: `Usage: squidex-sync once [--config FILE] [--dry-run] [--allow-mass-delete]

One rescan, then works the queue until it is empty and exits.
  --dry-run            print every planned action (folders to create, uploads,
                       replacements, moves, deletes) and change nothing,
                       neither on the server nor in the state file
  --allow-mass-delete  confirm deletions the delete guard is holding (with a
                       daemon running, use \`squidex-sync confirm-deletes\`)
Exit 0 when everything is in sync, 1 when some paths failed or deletions are
held by the delete guard.`,
  status: `Usage: squidex-sync status [--config FILE] [--json]

Per mapping: files in sync, pending and failed, held deletions, paused; the
failed paths with their last error. Works while the daemon runs, and without
the client secret. Exit 1 when some paths failed or deletions are held.`,
  retry: `Usage: squidex-sync retry [--config FILE] [PATH...]

Re-queues failed paths: all of them, or the given ones (absolute local paths,
or paths relative to a mapping's folder). A running daemon picks them up
within a second.`,
  check: `Usage: squidex-sync check [--config FILE]

Validates the config, gets a token, and resolves every mapping's remote
folder (reports the ones that would be created). Exit 2 on a bad config,
3 when Squidex cannot be reached or refuses the credentials.`,
  pause: `Usage: squidex-sync pause [--config FILE] [MAPPING]

Stops uploads for one mapping (by name) or all. Events are still recorded
and run after resume. Survives restarts.`,
  resume: `Usage: squidex-sync resume [--config FILE] [MAPPING]

Resumes uploads paused with pause.`,
  open: `Usage: squidex-sync open [--config FILE] [--no-browser]

Prints the address of the daemon's local page (http://127.0.0.1:7463 by
default) with its access token, and opens it in the default browser where
there is one. The page keeps the token in a cookie; the address works again
as long as the token file beside the state database is kept.`,
  'confirm-deletes': `Usage: squidex-sync confirm-deletes [--config FILE] [MAPPING]

The deletions the delete guard holds (of one mapping, or of all) are meant:
files missing now are deleted on the server (deletes: delete) or forgotten
(deletes: keep). A running daemon applies them within a second; otherwise the
next once or start does. Files that vanish later are guarded again. A mapping
folder that is missing is never confirmed: mount it, or remove the mapping.`,
  verify: `Usage: squidex-sync verify [--config FILE] [--json] [--repair]

Compares, per mapping, the files on disk, the state file and the mapped asset
folders in Squidex, and lists each difference with its path and asset id:
missing (deleted in Squidex), moved, renamed, content (replaced in Squidex),
unsynced (a change on the share not uploaded yet) and unknown (assets in the
mapped folders that are not from the share; listed, never deleted).
  --json    the same as JSON
  --repair  put the server back to what the share says: re-upload deleted
            assets under their id, move and rename back, replace content;
            needs the daemon stopped
Exit 0 when everything matches (unknown assets aside), 1 when differences
are found (with --repair: when some could not be repaired).`,
};

async function main(argv: string[]): Promise<number> {
  const { command, rest, values } = parseCli(argv);
  if (values.version) {
    const { version } = await import('./version.js');
    console.log(version());
    return EXIT.OK;
  }
  if (!command) {
    console.log(GLOBAL_HELP);
    return values.help ? EXIT.OK : EXIT.USAGE;
  }
  if (!(command in HELP)) {
    const near = didYouMean(command, Object.keys(HELP));
    throw usage(`Unknown command "${command}"${near ? ` — did you mean "${near}"?` : ''}. Run squidex-sync --help.`);
  }
  if (values.help) {
    console.log(HELP[command]);
    return EXIT.OK;
  }
  const configFile = resolve(values.config ?? 'sync.yaml');
  const onlyNoArgs = ['start', 'once', 'status', 'check', 'open', 'verify'];
  if (onlyNoArgs.includes(command) && rest.length > 0) throw usage(`"${command}" takes no arguments (got ${rest.join(' ')}).`);

  switch (command) {
    case 'start':
      return (await import('./start.js')).start(configFile);
    case 'once':
      return (await import('./once.js')).once(configFile, {
        dryRun: values['dry-run'] ?? false,
        allowMassDelete: values['allow-mass-delete'] ?? false,
      });
    case 'status':
      return (await import('./status.js')).status(configFile, { json: values.json ?? false });
    case 'retry':
      return (await import('./retry.js')).retry(configFile, rest);
    case 'check':
      return (await import('./check.js')).check(configFile);
    case 'confirm-deletes':
      return (await import('./confirm.js')).confirmDeletes(configFile, rest);
    case 'open':
      return (await import('./open.js')).openPage(configFile, { browser: !(values['no-browser'] ?? false) });
    case 'pause':
    case 'resume':
      return (await import('./pause.js')).setPaused(configFile, rest, command === 'pause');
    case 'verify':
      return (await import('./verify.js')).verify(configFile, { json: values.json ?? false, repair: values.repair ?? false });
  }
  return EXIT.USAGE;
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: a keep-alive socket or a timer left behind must not
    // keep a finished command (or a daemon that shut down) alive.
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (e: unknown) => {
    const code =
      e instanceof TypeError && String((e as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_') ? EXIT.USAGE : exitCodeFor(e);
    // A message may quote a path or a server's words; its own line breaks (a config problem list) stay.
    console.error(`squidex-sync: ${printableLines(describeError(e))}`);
    process.exitCode = code;
    // A fatal start-up error must end the process, or pm2/systemd would show a dead daemon as online.
    setImmediate(() => process.exit(code));
  },
);
