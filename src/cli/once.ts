import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../config/index.js';
import { systemClock } from '../lib/clock.js';
import { formatBytes } from '../lib/units.js';
import { printable, printableDeep } from '../lib/printable.js';
import { ignoreSpec } from '../watch/ignore.js';
import { startThreadWalks, type ThreadWalks } from '../watch/walkthread.js';
import type { OrderedRows, StreamDiffOptions } from '../watch/merge.js';
import type { Action } from '../worker/context.js';
import { ROOT_FOLDER_ID } from '../squidex/types.js';
import { EXIT } from './exit.js';

export interface OnceOptions {
  dryRun: boolean;
  allowMassDelete: boolean;
}

// Only the config and the walk thread are loaded before the walk starts; the
// client and pino next, to send the token; the rest (SQLite, the worker) loads
// on this thread while the walk runs and the token is on its way. (In the
// bundled build, scripts/bundle.mjs, each of these imports is a chunk or two,
// not dozens of modules.)

/** `squidex-sync once`: one rescan, drain the queue, exit. */
export async function once(configFile: string, opts: OnceOptions): Promise<number> {
  const config = loadConfig(configFile, process.env, { missingLocal: 'allow' });
  if (opts.dryRun) return (await import('./dryrun.js')).dryRun(config, opts);
  const walks = startThreadWalks(config.mappings.map((m) => ({ root: m.local, spec: ignoreSpec(m, config.state) })));
  try {
    return await syncOnce(config, opts, walks);
  } finally {
    await walks?.close();
  }
}

async function syncOnce(config: Config, opts: OnceOptions, walks: ThreadWalks | null): Promise<number> {
  // The token is asked for first, before the state and the worker's modules load: its round trip
  // overlaps them and the rescan. Nothing it answers is used before the checks below passed.
  const [{ createLogger }, { connect, probeBackoff }, { preflight }] = await Promise.all([
    import('../lib/log.js'),
    import('./connect.js'),
    import('./preflight.js'),
  ]);
  // stdout carries the summary only; log lines go to stderr: on a terminal readable and
  // drawn above the progress bar (which is drawn on stderr too), elsewhere as JSON lines
  // (cron mail, pipes, 2>file).
  const tty = Boolean(process.stdout.isTTY && process.stderr.isTTY);
  const progress = tty ? await openProgress() : undefined;
  const logger = progress
    ? createLogger({ level: 'warn', destination: progress.logStream })
    : createLogger({ level: config.log.level, fd: 2 });
  for (const w of config.warnings) logger.warn({ key: w.key }, w.message);
  const connection = connect(config, logger, systemClock);
  // Blips (a proxy's 503, a 429, a dropped connection) are ridden out for squidex.connectTimeoutSeconds.
  const boundMs = config.squidex.connectTimeoutSeconds * 1000;
  const retry = { forMs: boundMs, ...probeBackoff(config), now: () => systemClock.now() };
  // The app is asked for when this state has not yet seen it answer (a new or changed
  // squidex.url/app must never read as "in sync"), or when there is work; a restart over an
  // unchanged tree then costs only a token. Without a state file the answer is known now.
  let appCheck: (check: boolean) => void = () => undefined;
  const checkApp = existsSync(config.state) ? new Promise<boolean>((r) => (appCheck = r)) : true;
  // The token and the app check go out while the rescan compares the tree with the state: in
  // a row they were two round trips more before the first upload. The folders the rescan would
  // make ahead wait for them, and a refusal ends the rescan with the refusal's message.
  const listed = preflight(connection.client, config, logger, { unreachable: 'fail', checkApp, retry });
  const refused = new AbortController();
  listed.catch((e: unknown) => refused.abort(e));
  const [{ openRuntime, serverKey, SERVER_META_KEY }, { outageDeadline, reviveLegacyFailures }, { guardHint, guardKey }] =
    await Promise.all([import('./runtime.js'), import('../worker/outage.js'), import('../worker/deleteguard.js')]);
  const counts = new Map<Action | 'failed', number>();
  let bytes = 0;
  const started = Date.now();
  let rt: Awaited<ReturnType<typeof openRuntime>>;
  try {
    rt = openRuntime(config, {
      logger,
      connection,
      allowMassDelete: opts.allowMassDelete,
      events: {
        uploaded: (_kind, n) => (bytes += n),
        action: (a) => {
          counts.set(a, (counts.get(a) ?? 0) + 1);
          // A hold is counted from the state at the end (a file is held once, however often its job ran).
          if (a !== 'hold') progress?.tick(bytes);
        },
        failed: (_code, verdict) => {
          if (verdict !== 'failed') return;
          counts.set('failed', (counts.get('failed') ?? 0) + 1);
          progress?.tick(bytes);
        },
      },
    });
  } catch (e) {
    appCheck(false); // a state that does not open (locked, damaged) is what to report: the check is not waited for
    await connection.client.close();
    throw e;
  }
  try {
    const server = serverKey(config);
    const knownServer = rt.state.meta.get(SERVER_META_KEY) === server;
    appCheck(!knownServer);
    // The app check's answer is the root's listing: the folder resolver takes it instead of asking again.
    const checked = listed.then((root) => {
      if (root) rt.ctx.resolver.offer(ROOT_FOLDER_ID, root);
    });
    rt.ahead.holdUntil(checked);
    reviveLegacyFailures(rt.state, logger);
    if (opts.allowMassDelete) for (const m of config.mappings) rt.state.meta.delete(guardKey(m.name));
    // Folders or files the walk could not read are not "in sync": never synced, they would
    // otherwise only be a warning in the log while once exits 0.
    let unreadable = 0;
    let skipped = 0;
    try {
      for (const [i, m] of config.mappings.entries()) {
        const walk = walks ? (rows: OrderedRows, o: Pick<StreamDiffOptions, 'apart'>) => walks.diff(i, rows, o) : undefined;
        const r = await rt.rescan(m, { allowMassDelete: opts.allowMassDelete, walk, signal: refused.signal });
        unreadable += r.errors;
        skipped += r.skipped;
      }
    } catch (e) {
      await checked; // a refused secret or a missing app is what to report, not the rescan it ended
      throw e;
    }
    // The walk thread is done with: its end overlaps the uploads instead of following the last one.
    void walks?.close();
    await checked;
    // Written only when new: a restart that changes nothing commits nothing (no fsync, no checkpoint at close).
    if (!knownServer) rt.state.meta.set(SERVER_META_KEY, server);
    const queued = rt.state.jobs.counts().queued;
    if (queued > 0 && knownServer) {
      const root = await preflight(rt.client, config, logger, { unreachable: 'fail', retry });
      if (root) rt.ctx.resolver.offer(ROOT_FOLDER_ID, root);
    }
    progress?.start(queued);
    rt.pool.start();
    // Squidex away mid-run is waited for as the daemon does, within the same bound; past it
    // (or at once for refused credentials) exit 3 naming the last error, the queue kept.
    const outage = outageDeadline(rt.availability, boundMs, rt.clock);
    try {
      await Promise.race([rt.pool.idle(), outage.expired]);
    } catch (e) {
      await rt.pool.stop(config.sync.shutdownTimeoutMs);
      throw e;
    } finally {
      outage.cancel();
    }
    await rt.pool.stop(config.sync.shutdownTimeoutMs);
    for (const m of config.mappings) await rt.cleanupFolders(m);
    progress?.stop();
    const failed = rt.state.jobs.failed(20);
    const total = rt.state.jobs.counts().failed;
    // Only the rows seen gone: the per-mapping stats would group the whole files table (and the kept one) to count them.
    const heldFiles = config.mappings.reduce((n, m) => n + rt.state.files.countMissing(m.name), 0);
    if (heldFiles > 0) counts.set('hold', heldFiles);
    else counts.delete('hold');
    console.log(summary(counts, bytes, Date.now() - started));
    let held = false;
    for (const m of config.mappings) {
      const reason = rt.state.meta.get(guardKey(m.name));
      if (!reason) continue;
      held = true;
      console.log(`\n${printable(m.name)}: deletions held because ${printable(reason)}.\n  ${printable(guardHint(m, reason))}`);
    }
    if (skipped > 0)
      console.log(
        `\n${skipped} entr${skipped === 1 ? 'y is' : 'ies are'} not synced (symlinks, names that are not UTF-8, …): \`squidex-sync status\` lists them with why.`,
      );
    if (unreadable > 0)
      console.log(
        `\n${unreadable} folder${unreadable === 1 ? '' : 's'} or file${unreadable === 1 ? '' : 's'} could not be read (see "cannot read" in the log); their files are not synced.`,
      );
    if (total > 0) {
      console.log(`\n${total} path${total === 1 ? '' : 's'} failed:`);
      for (const f of printableDeep(failed)) console.log(`  ${f.mapping}: ${f.path}\n      ${f.lastError ?? f.code}`);
      console.log('Fix the cause, then run `squidex-sync retry`.');
      return EXIT.FAILED_PATHS;
    }
    // Held deletions are not "in sync" either: exit 1, like a failed path, until they are confirmed or undone.
    return unreadable > 0 || held ? EXIT.FAILED_PATHS : EXIT.OK;
  } finally {
    progress?.stop();
    await rt.close();
  }
}

interface Progress {
  /** Where log lines go while the bar may be drawn: above it, never into it. */
  logStream: Writable;
  start(total: number): void;
  tick(bytes: number): void;
  stop(): void;
}

/** The progress bar on a terminal (stderr), with log lines written above it while it is drawn. */
async function openProgress(): Promise<Progress> {
  const [{ default: cliProgress }, { default: pretty }] = await Promise.all([import('cli-progress'), import('pino-pretty')]);
  const bars = new cliProgress.MultiBar(
    {
      format: '{bar} {value}/{total} files | {size} | {rate} files/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: ReturnType<typeof bars.create> | undefined;
  let done = 0;
  let started = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (bar) bars.log(chunk.toString());
      else process.stderr.write(chunk);
      cb();
    },
  });
  return {
    // Formatted on this thread (no transport worker), so lines reach the sink in order.
    logStream: pretty({ destination: sink, sync: true, colorize: process.stderr.isTTY, translateTime: 'HH:MM:ss', ignore: 'pid,hostname' }),
    start(total) {
      started = Date.now();
      bar = bars.create(total, 0, { size: formatBytes(0), rate: '0.0' });
    },
    tick(bytes) {
      done += 1;
      bar?.update(done, { size: formatBytes(bytes), rate: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1) });
    },
    stop() {
      if (!bar) return;
      bars.update(); // writes log lines still waiting, then the bar once more
      bars.stop();
      bar = undefined;
    },
  };
}

function summary(counts: Map<string, number>, bytes: number, ms: number): string {
  const rows: Array<[string, string]> = [
    ['uploaded (new)', 'upload'],
    ['replaced', 'replace'],
    ['adopted', 'adopt'],
    ['moved/renamed', 'move'],
    ['deleted on server', 'delete'],
    ['forgotten (kept on server)', 'forget'],
    ['kept: still used by content', 'referenced'],
    ['tags/metadata updated', 'annotate'],
    ['deletions held', 'hold'],
    ['unchanged', 'none'],
    ['touched only', 'touch'],
    ['failed', 'failed'],
  ];
  const lines = rows.filter(([, k]) => (counts.get(k) ?? 0) > 0).map(([label, k]) => `  ${label.padEnd(28)}${counts.get(k)}`);
  if (lines.length === 0) lines.push('  nothing to do: everything is in sync');
  lines.push(`  ${'uploaded'.padEnd(28)}${formatBytes(bytes)}`, `  ${'time'.padEnd(28)}${(ms / 1000).toFixed(1)} s`);
  return ['summary:', ...lines].join('\n');
}
