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
import type { EnqueueItem } from '../state/jobs.js';

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
    /** Jobs queued at a time (RESCAN_BATCH). */
    batch?: number;
  },
): Promise<RescanResult> {
  const started = deps.clock.now();
  const log = deps.logger.child({ mapping: mapping.name });
  const queue = new RescanQueue(mapping, deps);
  // The walk merged with the files table in path order, folder by folder: only
  // what differs is held, never the whole tree or table, and no folder-rename
  // search unless a file is gone. A restart over an unchanged tree costs about
  // one stat per file. Changed files are queued in batches as the merge finds
  // them (a first sync holds a batch, not the share), except files new to the
  // table while a folder rename may still claim them (see StreamDiffOptions.sink).
  let feed = deps.walk;
  const compare = async (): Promise<StreamDiff> => {
    queue.restart();
    const rows: OrderedRows = (after, limit) => deps.state.files.listAfter(mapping.name, after, limit);
    const apart = sidecarsApart(mapping) ?? undefined;
    const sink = (path: string, st: FileStat): void => queue.changed(path, st);
    const fed = feed && (await feed(rows, { apart, sink }));
    feed = undefined; // a second comparison walks again: the thread's walk is spent
    const d = fed || (await diffStream(mapping.local, ignore, rows, { apart, sink, signal: deps.signal }));
    queue.flush();
    return d;
  };
  let walk = await compare();
  deps.signal?.throwIfAborted();
  let renamed = 0;
  if (deps.server && !walk.rootMissing && walk.gone.length > 0) {
    const found = detectFolderRenames(mapping.local, walkedFiles(walk), walk.gone, {
      // Held changed files are the new ones (the known went to the queue); the rest of the keys are known.
      has: (p) => !walk.changed.has(p),
      under: (dir, limit) => deps.state.files.listUnder(mapping.name, dir, limit),
    });
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
  const { back, rows: known } = walk;
  const entries = presentFiles(walk, queue.referencedSeen, (p) => deps.state.files.get(mapping.name, p) !== undefined);
  const extra = followUps(mapping, { entries, sidecars, rootMissing: walk.rootMissing }, walk.gone, {
    rows: (after, limit) => deps.state.files.listAfter(mapping.name, after, limit),
    state: deps.state,
    // Queued weak as their pages are read: changed files queued already keep their reason (their jobs tag them too).
    annotate: (path) => queue.push({ mapping: mapping.name, path, reason: 'annotate', delayMs: 0, weak: true }),
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

  for (const j of extra.jobs) queue.push({ mapping: mapping.name, path: j.path, reason: j.reason, delayMs: 0 });
  // After the renames above: a renamed folder's files are no longer new here, so its new name is never made ahead.
  for (const [path, st] of walk.changed) queue.changed(path, st);
  for (const path of gone) queue.push({ mapping: mapping.name, path, reason: 'gone' });
  queue.flush();
  extra.commit();
  return {
    mapping: mapping.name,
    files: walk.files,
    changed: queue.found,
    settling: queue.settling,
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
  return {
    get: (p) => d.changed.get(p),
    keys: () => [...d.changed.keys(), ...d.knownIn],
  };
}

/** Whether a file is on disk (and not set apart), from the merge: new or changed, or a row not gone. */
function presentFiles(d: StreamDiff, queued: ReadonlySet<string>, hasRow: (p: string) => boolean): { has(p: string): boolean } {
  let gone: Set<string> | undefined;
  return {
    has(p) {
      if (d.changed.has(p) || queued.has(p)) return true;
      gone ??= new Set(d.gone);
      return !gone.has(p) && !d.apart?.has(p) && hasRow(p);
    },
  };
}

/** Jobs queued at a time, each batch one transaction. */
export const RESCAN_BATCH = 1024;
/** The first batch is small: its folders are made ahead while the rest of the tree is compared. */
const FIRST_BATCH = 32;

/**
 * What a rescan queues, in batches of RESCAN_BATCH jobs, one transaction each,
 * with the folders of the files due handed to FoldersAhead per batch: the
 * rescan never holds a job per file of the share.
 */
class RescanQueue {
  /** Changed files found by the last comparison (queued, or left to the stability gate). */
  found = 0;
  settling = 0;
  /** Of the paths kept because content used them, those the merge queued as changed: they are on disk. */
  readonly referencedSeen = new Set<string>();
  private items: EnqueueItem[] = [];
  private due: string[] = [];
  private flushed = false;
  private readonly failedAt: Map<string, number>;
  private readonly referenced: ReadonlySet<string>;
  private readonly batch: number;

  constructor(
    private readonly mapping: MappingRuntime,
    private readonly deps: {
      state: State;
      settle?: Settle;
      ahead?: Pick<FoldersAhead, 'add'>;
      batch?: number;
    },
  ) {
    this.batch = Math.max(1, deps.batch ?? RESCAN_BATCH);
    // A rescan does not revive a failed job (a file that crashes us every time
    // must not crash-loop the daemon), unless the file changed since it failed:
    // on a share watched by rescans only, that is how a fixed file gets another try.
    this.failedAt = new Map(
      deps.state.jobs
        .failed(100_000)
        .filter((f) => f.mapping === mapping.name && f.failedAt !== null)
        .map((f) => [f.path, f.failedAt as number]),
    );
    this.referenced = new Set(deps.state.kept.paths(mapping.name, 'referenced'));
  }

  /** A comparison starts over (after a folder rename): it finds every changed file again. */
  restart(): void {
    this.found = 0;
    this.settling = 0;
    this.referencedSeen.clear();
  }

  changed(path: string, st: FileStat): void {
    this.found += 1;
    if (this.referenced.has(path)) this.referencedSeen.add(path);
    const at = this.failedAt.get(path);
    const reason = at !== undefined && st.mtimeMs > at ? 'change' : 'rescan';
    if (this.deps.settle?.(path, st, reason)) {
      this.settling += 1;
      return;
    }
    // A quiet file: due now, not after the debounce (`once` would idle a second).
    this.due.push(path);
    this.push({ mapping: this.mapping.name, path, reason, delayMs: 0 });
  }

  push(item: EnqueueItem): void {
    this.items.push(item);
    if (this.items.length >= (this.flushed ? this.batch : Math.min(FIRST_BATCH, this.batch))) this.flush();
  }

  flush(): void {
    if (this.items.length === 0) return;
    this.flushed = true;
    this.deps.state.jobs.enqueueMany(this.items);
    this.items = [];
    if (this.due.length > 0) this.deps.ahead?.add(this.mapping, this.due);
    this.due = [];
  }
}
