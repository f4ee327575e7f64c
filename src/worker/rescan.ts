import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import type { FolderResolver, SquidexClient } from '../squidex/index.js';
import type { State } from '../state/index.js';
import type { IgnoreMatcher } from '../watch/ignore.js';
import { diffStream, type OrderedRows, type StreamDiff, type WalkFeed } from '../watch/merge.js';
import type { FileStat } from '../watch/walk.js';
import { SKIP_TEXT } from './skips.js';
import { applyFolderRename, detectFolderRenames, type WalkedFiles } from './folders.js';
import { confirmedUntil, confirmKey, deleteGuardVerdict, guardHint, guardKey, keepKey, type GuardSettings } from './deleteguard.js';
import { followUps, sidecarsApart } from './followups.js';
import { noteSidecars } from './sidecar.js';
import type { MappingRuntime } from './mapping.js';
import type { FoldersAhead } from './ahead.js';

/** Takes a file the rescan found changed and still being written (true), to queue it once it is quiet. */
export type Settle = (path: string, stat: FileStat, reason: 'rescan' | 'change') => boolean;

export interface RescanResult {
  mapping: string;
  files: number;
  changed: number;
  /** Of `changed`, those still being written: queued once quiet, not now. */
  settling: number;
  gone: number;
  errors: number;
  /** Folders renamed or moved as a whole on the server. */
  renamed: number;
  /** Entries found and not synced: symlinks, FIFOs, names that are not UTF-8, … (listed by `status`). */
  skipped: number;
  held: string | null;
  ms: number;
}

/**
 * Stat-only walk of a mapping compared with the files table: what is new or
 * has another size or mtime is queued (the worker hashes it), what is gone
 * is queued too (the worker decides move, delete or forget). Nothing is
 * hashed here.
 */
export async function rescanMapping(
  mapping: MappingRuntime,
  ignore: IgnoreMatcher,
  deps: {
    state: State;
    clock: Clock;
    logger: Logger;
    guard: GuardSettings;
    allowMassDelete?: boolean;
    /** When given, whole-folder renames become one asset-folder rename on the server. */
    server?: { client: SquidexClient; resolver: FolderResolver };
    /** A walk of this mapping already under way (`once` starts it on a thread at launch). */
    walk?: WalkFeed;
    /** The daemon's stability gate; without it everything changed is queued now. */
    settle?: Settle;
    /** Ends the walk early (the daemon is stopping): the rescan then rejects with the signal's reason. */
    signal?: AbortSignal;
    /** Takes the files queued now, to make their asset folders ahead of the workers (not for a paused mapping). */
    ahead?: Pick<FoldersAhead, 'add'>;
  },
): Promise<RescanResult> {
  const started = deps.clock.now();
  // The walk merged with the files table in path order, folder by folder: only
  // what differs is held, never the whole tree or table, and no folder-rename
  // search unless a file is gone. A restart over an unchanged tree costs about
  // one stat per file.
  let feed = deps.walk;
  const compare = async (): Promise<StreamDiff> => {
    const rows: OrderedRows = (after, limit) => deps.state.files.listAfter(mapping.name, after, limit);
    const apart = sidecarsApart(mapping) ?? undefined;
    const fed = feed && (await feed(rows, { apart }));
    feed = undefined; // a second comparison walks again: the thread's walk is spent
    return fed || diffStream(mapping.local, ignore, rows, { apart, signal: deps.signal });
  };
  let walk = await compare();
  deps.signal?.throwIfAborted();
  const log = deps.logger.child({ mapping: mapping.name });
  let renamed = 0;
  if (deps.server && !walk.rootMissing && walk.gone.length > 0) {
    const found = detectFolderRenames(mapping.local, walkedFiles(walk), deps.state.files.list(mapping.name));
    for (const r of found) {
      if (await applyFolderRename(mapping, r, { state: deps.state, ...deps.server, logger: deps.logger, signal: deps.signal }))
        renamed += 1;
    }
    // Compared again even when none went through here: a worker may have renamed the same folder meanwhile.
    if (found.length > 0) {
      walk = await compare();
    }
  }
  const present = walk.files + (walk.apart?.size ?? 0);
  const sidecars = walk.apart;
  if (sidecars) noteSidecars(mapping.local, sidecars.keys());
  const { changed, back, rows: known } = walk;
  const entries = presentFiles(walk, (p) => deps.state.files.get(mapping.name, p) !== undefined);
  const extra = followUps(mapping, { entries, sidecars, rootMissing: walk.rootMissing }, walk.gone, {
    rows: (after, limit) => deps.state.files.listAfter(mapping.name, after, limit),
    state: deps.state,
  });
  const gone = extra.gone;
  // Files seen gone that are back unchanged (a share that returned): no longer held.
  if (back.length > 0) deps.state.files.clearMissing(mapping.name, back);
  if (!walk.rootMissing)
    deps.state.skipped.replace(
      mapping.name,
      walk.skipped.map((k) => ({ path: k.path, reason: SKIP_TEXT[k.reason] })),
      deps.clock.now(),
    );
  for (const err of walk.errors.slice(0, 20)) log.warn({ path: err.path, code: err.code }, 'cannot read %s: %s', err.path, err.message);

  // Files `confirm-deletes` confirmed are not counted against the guard; once none is left, the confirmation ends.
  const confirmedAt = confirmedUntil(deps.state.meta, mapping.name);
  const confirmed = confirmedAt < 0 ? 0 : countConfirmed(walk.goneSince, confirmedAt);
  if (confirmedAt >= 0 && confirmed === 0) {
    deps.state.meta.delete(confirmKey(mapping.name));
    deps.state.meta.delete(keepKey(mapping.name));
  }
  const held = deleteGuardVerdict(
    mapping.local,
    { rootMissing: walk.rootMissing, present, known: known - confirmed, gone: gone.length - confirmed },
    deps.guard,
    deps.allowMassDelete,
  );
  const key = guardKey(mapping.name);
  if (held) {
    if (deps.state.meta.get(key) !== held) {
      log.warn(
        { gone: gone.length, files: known },
        'deletions held: %s. Nothing will be deleted or forgotten on the server. %s',
        held,
        guardHint(mapping, held),
      );
    }
    deps.state.meta.set(key, held);
  } else {
    deps.state.meta.delete(key);
  }

  // A rescan does not revive a failed job (a file that crashes us every time
  // must not crash-loop the daemon), unless the file changed since it failed:
  // on a share watched by rescans only, that is how a fixed file gets another try.
  const failedAt = new Map(
    deps.state.jobs
      .failed(100_000)
      .filter((f) => f.mapping === mapping.name && f.failedAt !== null)
      .map((f) => [f.path, f.failedAt as number]),
  );
  const changedSinceFailure = (path: string): boolean => {
    const at = failedAt.get(path);
    return at !== undefined && (changed.get(path)?.mtimeMs ?? 0) > at;
  };
  // First: a path also changed or gone below takes that reason, which does all these would.
  const now: Array<{ mapping: string; path: string; reason: string; delayMs?: number }> = extra.jobs.map((j) => ({
    mapping: mapping.name,
    path: j.path,
    reason: j.reason,
    delayMs: 0,
  }));
  let settling = 0;
  const due: string[] = [];
  for (const [path, st] of changed) {
    const reason = changedSinceFailure(path) ? 'change' : 'rescan';
    if (deps.settle?.(path, st, reason)) settling += 1;
    // A quiet file: due now, not after the debounce (`once` would idle a second).
    else {
      now.push({ mapping: mapping.name, path, reason, delayMs: 0 });
      due.push(path);
    }
  }
  for (const path of gone) now.push({ mapping: mapping.name, path, reason: 'gone' });
  deps.state.jobs.enqueueMany(now);
  // After the renames above: a renamed folder's files are no longer new here, so its new name is never made ahead.
  deps.ahead?.add(mapping, due);
  extra.commit();
  return {
    mapping: mapping.name,
    files: walk.files,
    changed: changed.size,
    settling,
    gone: gone.length,
    errors: walk.errors.length,
    renamed,
    skipped: walk.skipped.length,
    held,
    ms: deps.clock.now() - started,
  };
}

/** A result as log fields, without the mapping its logger already names. */
export function rescanFields(r: RescanResult): Omit<RescanResult, 'mapping'> {
  const { mapping: _, ...fields } = r;
  return fields;
}

/** Gone rows first seen missing at or before `at` (their missingSince as text, '' for none). */
function countConfirmed(goneSince: readonly string[], at: number): number {
  let n = 0;
  for (const since of goneSince) if (since !== '' && Number(since) <= at) n += 1;
  return n;
}

/** The folder-rename search's view of a merge: only what differs and one known file a folder are at hand. */
function walkedFiles(d: StreamDiff): WalkedFiles {
  const gone = new Set(d.gone);
  return {
    has: (rowPath) => !gone.has(rowPath),
    get: (p) => d.changed.get(p),
    keys: () => [...d.changed.keys(), ...d.knownIn],
  };
}

/** Whether a file is on disk (and not set apart), from the merge: new or changed, or a row not gone. */
function presentFiles(d: StreamDiff, hasRow: (p: string) => boolean): { has(p: string): boolean } {
  let gone: Set<string> | undefined;
  return {
    has(p) {
      if (d.changed.has(p)) return true;
      gone ??= new Set(d.gone);
      return !gone.has(p) && !d.apart?.has(p) && hasRow(p);
    },
  };
}
