import type { IgnoreMatcher } from './ignore.js';
import type { StabilityGate } from './stability.js';
import { walkMapping, type FileStat, type WalkError } from './walk.js';
import { timerDelay } from '../lib/timers.js';

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
 */
export class PollWatcher {
  private snapshot = new Map<string, FileStat>();
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
    const first = await walkMapping(this.root, this.ignore);
    this.lastWalkMs = performance.now() - t0;
    this.snapshot = first.entries;
    this.noteProblems(first.errors);
    this.schedule();
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
    const res = await walkMapping(this.root, this.ignore);
    if (this.closed) return;
    this.noteProblems(res.errors);
    // Root unreadable: keep the old snapshot so a share that blinks does not look like "everything deleted".
    if (res.rootMissing) return;
    const prev = this.snapshot;
    const unreadable = res.errors.filter((e) => e.code !== 'ENOENT').map((e) => `${e.path}/`);
    for (const [rel, st] of res.entries) {
      const old = prev.get(rel);
      if (!old) this.sink.gate.touch(rel, 'add');
      else if (old.size !== st.size || old.mtimeMs !== st.mtimeMs) this.sink.gate.touch(rel, 'change');
    }
    for (const [rel, st] of prev) {
      if (res.entries.has(rel)) continue;
      // Under a folder we could not read this time: unknown, not gone; carry it over.
      if (unreadable.some((u) => rel.startsWith(u))) {
        res.entries.set(rel, st);
        continue;
      }
      this.sink.gate.cancel(rel);
      this.sink.report(rel, 'unlink');
    }
    this.snapshot = res.entries;
  }
}
