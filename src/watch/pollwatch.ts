import type { IgnoreMatcher } from './ignore.js';
import type { StabilityGate } from './stability.js';
import { Walker, type WalkError } from './walk.js';
import { timerDelay } from '../lib/timers.js';
import { comparePaths } from './order.js';
import { Snapshot, SnapshotBuilder } from './snapshot.js';

export interface PollSink {
  gate: StabilityGate;
  report(rel: string, kind: 'unlink' | 'addDir' | 'unlinkDir'): void;
  /** A walk error other than files vanishing mid-walk (unreadable folder, root gone). */
  walkProblem(code: string, message: string, rel: string): void;
}

/**
 * Poll mode: a stat-only walk every `intervalMs`, compared with the previous one.
 * Used where events cannot be trusted. Not chokidar's usePolling, which keeps an
 * fs.watchFile timer per file (worse memory than its events mode); the cost of a walk
 * and of the snapshot is in docs/benchmarks.md.
 * Folders are not tracked, so unlinkDir/addDir are never reported in this mode:
 * every file under a removed folder is reported as unlink instead.
 * Each walk is in path order and merged with the previous one kept packed
 * (snapshot.ts): no map of the tree, and no second one while comparing.
 */
export class PollWatcher {
  /** The last walk, packed (tests read its size). */
  snapshot = Snapshot.empty;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private problems = new Set<string>();
  private lastWalkMs = 0;

  constructor(
    private readonly root: string,
    private readonly ignore: IgnoreMatcher,
    private readonly intervalMs: number,
    private readonly sink: PollSink,
  ) {}

  async start(): Promise<void> {
    const t0 = performance.now();
    const first = new SnapshotBuilder();
    const walk = await this.walk(
      new Walker(this.root, this.ignore, (rel, size, mtimeMs) => first.add(rel, size, mtimeMs), { ordered: true }),
    );
    this.lastWalkMs = performance.now() - t0;
    this.snapshot = first.finish();
    this.noteProblems(walk.errors);
    this.schedule();
  }

  /** The walk in slices, to keep the event loop responsive. */
  private async walk(walker: Walker): Promise<Walker> {
    while (!walker.step(2000)) await new Promise((r) => setImmediate(r));
    return walker;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** A problem is reported when it starts, not at every pass while it lasts. */
  private noteProblems(errors: WalkError[]): void {
    const problems = new Set<string>();
    for (const e of errors) {
      if (e.code === 'ENOENT' && e.path !== '') continue; // vanished mid-walk: ordinary churn
      const key = `${e.code}\0${e.path}`;
      problems.add(key);
      if (!this.problems.has(key)) this.sink.walkProblem(e.code, e.message, e.path);
    }
    this.problems = problems;
  }

  private schedule(): void {
    if (this.closed) return;
    // setTimeout after each walk, not setInterval: a slow share never stacks walks. And at
    // least 10× the last walk's duration apart, so polling a huge tree stays under ~10% of a core.
    const wait = Math.max(this.intervalMs, this.lastWalkMs * 10);
    this.timer = setTimeout(() => {
      const t0 = performance.now();
      this.running = this.pass().finally(() => {
        this.lastWalkMs = performance.now() - t0;
        this.running = undefined;
        this.schedule();
      });
    }, timerDelay(wait));
  }

  private async pass(): Promise<void> {
    const prev = this.snapshot;
    const next = new SnapshotBuilder();
    const touched: Array<[string, 'add' | 'change']> = [];
    const gone: string[] = [];
    let at = 0;
    // Under a folder this walk could not read: unknown, not gone; carried over. The walk
    // meets a folder where its name sorts, so its error is known before anything after it.
    const dirs: string[] = [];
    let seen = 0;
    const unreadable = (rel: string): boolean => {
      for (; seen < walker.errors.length; seen++) {
        const e = walker.errors[seen];
        if (e.code !== 'ENOENT' && e.path !== '') dirs.push(`${e.path}/`);
      }
      return dirs.some((d) => rel.startsWith(d));
    };
    /** The previous walk's path at `at`, read once. */
    let head = prev.length > 0 ? prev.path(0) : null;
    const advance = (): void => {
      at += 1;
      head = at < prev.length ? prev.path(at) : null;
    };
    const passed = (until: string | null): void => {
      for (; head !== null; advance()) {
        if (until !== null && comparePaths(head, until) >= 0) return;
        if (unreadable(head)) next.add(head, prev.sizes[at], prev.mtimes[at]);
        else gone.push(head);
      }
    };
    const walker = new Walker(
      this.root,
      this.ignore,
      (rel, size, mtimeMs) => {
        passed(rel);
        if (head === rel) {
          if (prev.sizes[at] !== size || prev.mtimes[at] !== mtimeMs) touched.push([rel, 'change']);
          advance();
        } else touched.push([rel, 'add']);
        next.add(rel, size, mtimeMs);
        // Handed to the gate as they come: only a slice's worth is held.
        if (touched.length >= 2000) this.touch(touched);
      },
      { ordered: true },
    );
    await this.walk(walker);
    if (this.closed) return;
    this.noteProblems(walker.errors);
    // Root unreadable: keep the old snapshot so a share that blinks does not look like "everything deleted".
    if (walker.rootMissing) return;
    passed(null);
    this.touch(touched);
    for (const rel of gone) {
      this.sink.gate.cancel(rel);
      this.sink.report(rel, 'unlink');
    }
    this.snapshot = next.finish();
  }

  private touch(list: Array<[string, 'add' | 'change']>): void {
    if (this.closed) return;
    for (const [rel, kind] of list) this.sink.gate.touch(rel, kind);
    list.length = 0;
  }
}
