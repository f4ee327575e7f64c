import { existsSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { SyncError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/log.js';
import { jsonForTerminal, printable, printableDeep } from '../lib/printable.js';
import type { SquidexClient } from '../squidex/index.js';
import { openState } from '../state/index.js';
import { walkMapping, type WalkResult } from '../watch/walk.js';
import type { Difference } from '../verify/compare.js';
import { repairDifferences, type RepairResult } from '../verify/repair.js';
import { movedContent } from '../verify/moved.js';
import { verifyStore } from '../verify/store.js';
import { verifyMappings, type VerifyResult } from '../verify/verify.js';
import { EXIT } from './exit.js';
import { preflight } from './preflight.js';
import { clientFor, ignoreFor, openRuntime, readConfig, type Runtime } from './runtime.js';

export interface VerifyOptions {
  json: boolean;
  repair: boolean;
}

/**
 * `squidex-sync verify [--repair]`: the files on disk, the state database and
 * a listing of the mapped asset folders, compared. Without --repair it
 * changes nothing (and runs beside a daemon); with it, it holds the state lock
 * and puts the server back to what the share says.
 */
export async function verify(configFile: string, opts: VerifyOptions): Promise<number> {
  const config = readConfig(configFile, 'allow');
  // stdout carries the report; the log goes to stderr.
  const logger = createLogger({ level: 'warn', fd: 2 });
  if (!existsSync(config.state)) {
    const note = `nothing to verify: no state yet at ${config.state}. Run \`squidex-sync once\` (or start the daemon) first.`;
    console.log(opts.json ? jsonForTerminal(JSON.stringify({ ok: false, note }, null, 2)) : printable(note));
    return EXIT.FAILED_PATHS;
  }
  const rt = opts.repair ? openForRepair(config, logger) : undefined;
  const state = rt?.state ?? openState(config.state, { recover: false });
  const client = rt?.client ?? clientFor(config, logger);
  try {
    await preflight(client, config, logger, { unreachable: 'fail' });
    const walks = new Map<string, WalkResult>();
    for (const m of config.mappings) walks.set(m.name, await walkMapping(m.local, rt?.ignores.get(m.name) ?? ignoreFor(config, m)));
    const result = await verifyMappings(config.mappings, { state, client, learn: opts.repair }, walks);
    let differences = result.mappings.flatMap((v) => v.differences);
    if (rt) differences = await followMoves(rt, config, walks, differences);
    const repaired = rt ? await repair(rt, config, differences, result) : undefined;
    // File names and server texts are written by others: escaped before they reach a terminal.
    console.log(
      opts.json
        ? jsonForTerminal(JSON.stringify(toJson(result, differences, repaired), null, 2))
        : format(config, printableDeep(result.mappings), printableDeep(differences), repaired && printableDeep(repaired)),
    );
    const open = repaired ? repaired.failed.length : differences.filter((d) => d.kind !== 'unknown').length;
    return open > 0 ? EXIT.FAILED_PATHS : EXIT.OK;
  } finally {
    if (rt) await rt.close();
    else {
      state.close();
      await (client as SquidexClient).close();
    }
  }
}

function openForRepair(config: Config, logger: Logger): Runtime {
  try {
    return openRuntime(config, { logger, rescans: false });
  } catch (e) {
    if (!(e instanceof SyncError && e.code === 'STATE_LOCKED')) throw e;
    throw new SyncError('STATE_LOCKED', e.message, {
      cause: e,
      hint: 'verify --repair needs the daemon stopped; or let the daemon repair by itself with sync.serverChanges: restore.',
    });
  }
}

/**
 * Files moved while squidex-sync was stopped: no rescan pairs their old path
 * with the new one here, and the old path's delete is long past its move
 * window. The worker is told where each gone file's bytes are now (it holds
 * that delete; the new path's job moves the asset), and the report says so.
 */
async function followMoves(
  rt: Runtime,
  config: Config,
  walks: ReadonlyMap<string, WalkResult>,
  differences: Difference[],
): Promise<Difference[]> {
  const finders = new Map(
    config.mappings.map((m) => [m.name, movedContent(m, walks.get(m.name)!, (p) => rt.state.files.get(m.name, p) !== undefined)]),
  );
  rt.ctx.movedTo = (mapping, row) => finders.get(mapping)?.(row) ?? Promise.resolve(null);
  const out: Difference[] = [];
  for (const d of differences) {
    const row = d.kind === 'unsynced' && d.assetId !== null ? rt.state.files.get(d.mapping, d.path) : undefined;
    const to = row && !walks.get(d.mapping)?.entries.has(d.path) ? await rt.ctx.movedTo(d.mapping, row) : null;
    out.push(
      to === null
        ? d
        : { ...d, detail: `moved on the share to "${to}" while squidex-sync was stopped: its asset moves with it, never deleted` },
    );
  }
  return out;
}

/** Repairs, runs the uploads it queued through the worker pool, and records what is left for `status`. */
async function repair(rt: Runtime, config: Config, differences: Difference[], result: VerifyResult): Promise<RepairResult> {
  const repaired = await repairDifferences(differences, result, rt.ctx);
  if (repaired.queued.length > 0) {
    rt.pool.start();
    await rt.pool.idle();
    await rt.pool.stop(config.sync.shutdownTimeoutMs);
    const failed = new Map(rt.state.jobs.failed(100_000).map((f) => [`${f.mapping}\0${f.path}`, f.lastError ?? f.code ?? 'failed']));
    // The pool leaves the jobs of paused mappings queued.
    for (const j of rt.state.jobs.pending(100_000)) {
      if (j.state === 'queued')
        failed.set(`${j.mapping}\0${j.path}`, `waiting: uploads of "${j.mapping}" are paused (\`squidex-sync resume\` lets them go out)`);
    }
    for (const d of repaired.queued.splice(0)) {
      const error = failed.get(`${d.mapping}\0${d.path}`);
      if (error) repaired.failed.push({ difference: d, error });
      else repaired.queued.push(d);
    }
  }
  const store = verifyStore(rt.state.db);
  const now = rt.clock.now();
  for (const m of config.mappings) {
    const left = [...repaired.left, ...repaired.failed.map((f) => f.difference)].filter(
      (d) => d.mapping === m.name && d.assetId !== null && d.kind !== 'unsynced' && d.kind !== 'unreadable',
    );
    store.replaceDrift(
      m.name,
      left.map((d) => ({ mapping: d.mapping, path: d.path, assetId: d.assetId!, kind: d.kind as 'unknown', detail: d.detail })),
      now,
    );
  }
  return repaired;
}

function format(config: Config, verdicts: VerifyResult['mappings'], differences: Difference[], repaired: RepairResult | undefined): string {
  const lines: string[] = [];
  for (const v of verdicts) {
    const m = config.mappings.find((x) => x.name === v.mapping)!;
    lines.push(
      `${v.mapping} (${printable(m.local)} → ${printable(m.remote || '/')}): ${v.compared} file${v.compared === 1 ? '' : 's'} compared with Squidex`,
    );
  }
  const line = (d: Difference): string =>
    `  ${d.kind.padEnd(11)}${d.mapping}: ${d.path || '(the mapping)'}: ${d.detail}${d.assetId ? ` (asset ${d.assetId})` : ''}`;
  if (!repaired) {
    lines.push(...differences.map(line));
    const open = differences.filter((d) => d.kind !== 'unknown');
    const unknown = differences.length - open.length;
    if (open.length === 0) lines.push('everything matches: the server holds what the share says.');
    else
      lines.push(
        `${open.length} difference${open.length === 1 ? '' : 's'} (${tally(open)}). Run \`squidex-sync verify --repair\` to put the server back to what the share says.`,
      );
    if (unknown > 0) lines.push(`${unknown} asset${unknown === 1 ? '' : 's'} in mapped folders not from the share: listed, never deleted.`);
    return lines.join('\n');
  }
  if (differences.length === 0) return [...lines, 'everything matches: nothing to repair.'].join('\n');
  if (repaired.fixed.length > 0) lines.push('moved or renamed back:', ...repaired.fixed.map(line));
  if (repaired.queued.length > 0)
    lines.push('synced again from the share (uploaded, moved or deleted as it says):', ...repaired.queued.map(line));
  if (repaired.left.length > 0) lines.push('left alone (never deleted):', ...repaired.left.map(line));
  if (repaired.failed.length > 0) {
    lines.push('could not repair:', ...repaired.failed.map((f) => `${line(f.difference)}\n      ${f.error}`));
    lines.push('Fix the cause, then run `squidex-sync verify --repair` again.');
  } else lines.push('repaired: the server holds what the share says.');
  return lines.join('\n');
}

function tally(ds: readonly Difference[]): string {
  const n = new Map<string, number>();
  for (const d of ds) n.set(d.kind, (n.get(d.kind) ?? 0) + 1);
  return [...n].map(([k, c]) => `${c} ${k}`).join(', ');
}

function toJson(result: VerifyResult, differences: Difference[], repaired: RepairResult | undefined): unknown {
  return {
    ok: repaired ? repaired.failed.length === 0 : differences.every((d) => d.kind === 'unknown'),
    mappings: result.mappings.map((v) => ({ name: v.mapping, compared: v.compared, differences: v.differences.length })),
    differences,
    ...(repaired && {
      repair: {
        fixed: repaired.fixed,
        queued: repaired.queued,
        left: repaired.left,
        failed: repaired.failed.map((f) => ({ ...f.difference, error: f.error })),
      },
    }),
  };
}
