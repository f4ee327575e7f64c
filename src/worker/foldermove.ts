import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { untilAborted } from '../lib/abort.js';
import type { FileStat } from '../watch/index.js';
import type { ReconcileContext } from './context.js';
import { existsExactly } from './exact.js';
import { applyFolderRename, holdsAll } from './folders.js';
import type { MappingRuntime } from './mapping.js';

/** How long a "not a whole-folder move" verdict is reused by the other files of the same folder. */
const VERDICT_MS = 10_000;

const verdicts = new WeakMap<object, Map<string, { at: number; moved: Promise<boolean> }>>();

/**
 * A new file whose content vanished from another folder may be one file of a
 * folder that moved as a whole, reported file by file (its folder's own
 * events came late, or the watcher sends none). Before it is moved alone, the
 * folders around both paths are compared: when the old folder is gone and
 * the new one holds every file of it, the asset folder is renamed or moved as
 * one, and this file (with its siblings) is in place already. True then.
 * Rejects with `signal`'s reason when it aborts (the daemon stopping): the
 * rows still name the old folder, so the next rescan renames it.
 */
export async function movedWithFolder(
  mapping: MappingRuntime,
  move: { from: string; to: string },
  ctx: ReconcileContext,
  signal?: AbortSignal,
): Promise<boolean> {
  const toPath = move.to;
  for (const [from, to] of folderPairs(move.from, toPath)) {
    let byPair = verdicts.get(ctx.state);
    if (!byPair) {
      byPair = new Map();
      verdicts.set(ctx.state, byPair);
    }
    const key = `${mapping.name}\0${from}\0${to}`;
    const now = ctx.clock.now();
    let v = byPair.get(key);
    if (!v || (now - v.at > VERDICT_MS && !(await untilAborted(v.moved, signal)))) {
      const entry = { at: now, moved: tryPair(mapping, from, to, { ...ctx, signal }) };
      // An aborted try is no verdict: whoever asks next tries again.
      entry.moved.catch(() => byPair.get(key) === entry && byPair.delete(key));
      v = entry;
      byPair.set(key, v);
      for (const [k, old] of byPair) if (now - old.at > VERDICT_MS) byPair.delete(k);
    }
    // Another job's verdict may be what this one waits for: it leaves the wait when it is itself aborted.
    if (await untilAborted(v.moved, signal)) return ctx.state.files.get(mapping.name, toPath) !== undefined;
  }
  return false;
}

/**
 * ('a/b/x.png', 'c/b/x.png') → [['a', 'c'], ['a/b', 'c/b']]: the folder pairs
 * under which both paths have the same tail, highest first (the biggest move
 * that explains the file).
 */
function folderPairs(fromPath: string, toPath: string): Array<[string, string]> {
  const a = fromPath.split('/');
  const b = toPath.split('/');
  const pairs: Array<[string, string]> = [];
  for (let k = 1; k < a.length && k < b.length && a[a.length - k] === b[b.length - k]; k++) {
    const from = a.slice(0, a.length - k).join('/');
    const to = b.slice(0, b.length - k).join('/');
    if (from === to) break;
    pairs.unshift([from, to]);
  }
  return pairs;
}

async function tryPair(
  mapping: MappingRuntime,
  from: string,
  to: string,
  ctx: ReconcileContext & { signal: AbortSignal | undefined },
): Promise<boolean> {
  const files = ctx.state.files;
  // The old folder must be gone, and the new one must be new to us.
  if (await existsExactly(mapping.local, from)) return false;
  if (files.listUnder(mapping.name, to, 1).length > 0) return false;
  const under = files.listUnder(mapping.name, from);
  if (under.length === 0) return false;
  const stats = new Map<string, FileStat | undefined>();
  await Promise.all(
    under.map(async (r) => {
      const rel = `${to}/${r.path.slice(from.length + 1)}`;
      stats.set(rel, await statFile(join(mapping.local, rel)));
    }),
  );
  if (!holdsAll(from, to, under, (p) => stats.get(p))) return false;
  return applyFolderRename(mapping, { from, to, files: under.length }, ctx);
}

async function statFile(abs: string): Promise<FileStat | undefined> {
  try {
    const st = await lstat(abs);
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}
