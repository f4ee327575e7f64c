import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { ignoreSpec, prefetchWalks, type PrefetchedWalks } from '../watch/scan.js';
import type { Action } from '../worker/context.js';
import type { PlanItem } from '../worker/plan.js';
import { EXIT } from './exit.js';

// Only the config and the walk thread are loaded before the walk starts; the
// rest (SQLite, undici, pino: ~0.15 s) loads on this thread while it walks.
export interface OnceOptions {
  dryRun: boolean;
  allowMassDelete: boolean;
}

/** `squidex-sync once`: one rescan, drain the queue, exit. */
export async function once(configFile: string, opts: OnceOptions): Promise<number> {
  const config = loadConfig(configFile, process.env, { missingLocal: 'allow' });
  if (opts.dryRun) return dryRun(config, opts);
  const walks = prefetchWalks(config.mappings.map((m) => ({ root: m.local, spec: ignoreSpec(m, config.state) })));
  try {
    return await syncOnce(config, opts, walks);
  } finally {
    await walks?.close();
  }
}

async function syncOnce(config: Config, opts: OnceOptions, walks: PrefetchedWalks | null): Promise<number> {
  const [{ createLogger }, { preflight }, { openRuntime }] = await Promise.all([
    import('../lib/log.js'),
    import('./preflight.js'),
    import('./runtime.js'),
  ]);
  const cliProgress = process.stdout.isTTY ? (await import('cli-progress')).default : undefined;

  const tty = Boolean(process.stdout.isTTY);
  // On a terminal the progress bar is the output; warnings and errors still show.
  const logger = createLogger(tty ? { level: 'warn', fd: 2 } : { level: config.log.level });
  for (const w of config.warnings) logger.warn({ key: w.key }, w.message);
  const counts = new Map<Action | 'failed', number>();
  let bytes = 0;
  let done = 0;
  const bar = cliProgress
    ? new cliProgress.SingleBar(
        { format: '{bar} {value}/{total} files | {mb} MB | {rate} files/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const started = Date.now();
  const tick = (): void => {
    done += 1;
    bar?.update(done, { mb: (bytes / 1e6).toFixed(1), rate: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1) });
  };
  const rt = openRuntime(config, {
    logger,
    allowMassDelete: opts.allowMassDelete,
    events: {
      uploaded: (_kind, n) => (bytes += n),
      action: (a) => {
        counts.set(a, (counts.get(a) ?? 0) + 1);
        tick();
      },
      failed: (_code, verdict) => {
        if (verdict !== 'failed') return;
        counts.set('failed', (counts.get('failed') ?? 0) + 1);
        tick();
      },
    },
  });
  try {
    // The app is asked for when this state has not yet seen it answer (a new
    // or changed squidex.url/app must never read as "in sync"), or when there
    // is work; a restart over an unchanged tree then costs only a token.
    const serverKey = `${config.squidex.url}|${config.squidex.app}`;
    const knownServer = rt.state.meta.get('server') === serverKey;
    await preflight(rt.client, config, logger, { unreachable: 'fail', checkApp: !knownServer });
    // Written only when new: a restart that changes nothing commits nothing (no fsync, no checkpoint at close).
    if (!knownServer) rt.state.meta.set('server', serverKey);
    if (opts.allowMassDelete) for (const m of config.mappings) rt.state.meta.delete(`deleteGuard:${m.name}`);
    // Folders or files the walk could not read are not "in sync": never synced, they would
    // otherwise only be a warning in the log while once exits 0.
    let unreadable = 0;
    for (const [i, m] of config.mappings.entries()) {
      unreadable += (await rt.rescan(m, { allowMassDelete: opts.allowMassDelete, walk: walks?.take(i) })).errors;
    }
    const queued = rt.state.jobs.counts().queued;
    if (queued > 0 && knownServer) await preflight(rt.client, config, logger, { unreachable: 'fail' });
    bar?.start(queued, 0, { mb: '0.0', rate: '0.0' });
    rt.pool.start();
    await rt.pool.idle();
    await rt.pool.stop(config.sync.shutdownTimeoutMs);
    for (const m of config.mappings) await rt.cleanupFolders(m);
    bar?.stop();
    const failed = rt.state.jobs.failed(20);
    const total = rt.state.jobs.counts().failed;
    console.log(summary(counts, bytes, Date.now() - started));
    for (const m of config.mappings) {
      const held = rt.state.meta.get(`deleteGuard:${m.name}`);
      if (held) console.log(`\n${m.name}: deletions held because ${held}.\n  If intended, run: squidex-sync once --allow-mass-delete`);
    }
    if (unreadable > 0) console.log(`\n${unreadable} folder${unreadable === 1 ? '' : 's'} or file${unreadable === 1 ? '' : 's'} could not be read (see "cannot read" in the log); their files are not synced.`);
    if (total > 0) {
      console.log(`\n${total} path${total === 1 ? '' : 's'} failed:`);
      for (const f of failed) console.log(`  ${f.mapping}: ${f.path}\n      ${f.lastError ?? f.code}`);
      console.log('Fix the cause, then run `squidex-sync retry`.');
      return EXIT.FAILED_PATHS;
    }
    return unreadable > 0 ? EXIT.FAILED_PATHS : EXIT.OK;
  } finally {
    bar?.stop();
    await rt.close();
  }
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
    ['held', 'hold'],
    ['unchanged', 'none'],
    ['touched only', 'touch'],
    ['failed', 'failed'],
  ];
  const lines = rows.filter(([, k]) => (counts.get(k) ?? 0) > 0).map(([label, k]) => `  ${label.padEnd(28)}${counts.get(k)}`);
  if (lines.length === 0) lines.push('  nothing to do: everything is in sync');
  lines.push(`  ${'bytes uploaded'.padEnd(28)}${bytes}`, `  ${'time'.padEnd(28)}${(ms / 1000).toFixed(1)} s`);
  return ['summary:', ...lines].join('\n');
}

/** The plan, from reads only: the state is a throw-away copy and nothing is sent but GETs. */
async function dryRun(config: Config, opts: OnceOptions): Promise<number> {
  const [{ default: Database }, { createLogger }, { openState }, { planMapping }, { clientFor, ignoreFor }] = await Promise.all([
    import('better-sqlite3'),
    import('../lib/log.js'),
    import('../state/index.js'),
    import('../worker/plan.js'),
    import('./runtime.js'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'squidex-sync-dry-'));
  const copy = join(dir, 'state.db');
  try {
    if (existsSync(config.state)) {
      const src = new Database(config.state, { readonly: true, fileMustExist: true });
      try {
        await src.backup(copy);
      } finally {
        src.close();
      }
    }
    const state = openState(copy, { recover: false });
    const client = clientFor(config, createLogger({ level: 'silent' }));
    try {
      const items: PlanItem[] = [];
      for (const m of config.mappings) {
        items.push(...(await planMapping(m, ignoreFor(config, m), { state, client, guard: config.deleteGuard, allowMassDelete: opts.allowMassDelete })));
      }
      console.log(formatPlan(items));
      return EXIT.OK;
    } finally {
      state.close();
      await client.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatPlan(items: PlanItem[]): string {
  if (items.length === 0) return 'dry run: nothing to do, everything is in sync';
  const lines = items.map((i) => `  ${i.action.padEnd(14)}${i.mapping}: ${i.path}${i.detail ? `  (${i.detail})` : ''}`);
  const tally = new Map<string, number>();
  for (const i of items) tally.set(i.action, (tally.get(i.action) ?? 0) + 1);
  const totals = [...tally].map(([a, n]) => `${n} ${a}`).join(', ');
  return [`dry run (nothing changed): ${totals}`, ...lines].join('\n');
}
