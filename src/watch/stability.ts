import fs from 'node:fs/promises';
import type { FileStat } from './walk.js';

/** The least time between two looks at the pending files. */
const MIN_GAP_MS = 50;

interface Pending<R> {
  /** Why the path was handed in; passed on when it is let through. */
  reason: R;
  /** Earliest time to look at the file again: last event + stabilityMs. */
  due: number;
  /** size:mtime seen at the previous check, when the mtime alone could not decide. */
  sig?: string;
}

/**
 * Holds back hints until the file has stopped changing for `stabilityMs`, so
 * a 2 GB file being copied is reported once, complete. The watcher puts its
 * add/change events through one; the daemon puts what a rescan finds still
 * changing through another (reasons `rescan`/`change`).
 *
 * No timer per file: every event pushes the file's `due` back, and one
 * shared tick looks at files whose `due` has passed with one lstat each. The
 * file is stable when its mtime is at least `stabilityMs` old — or, when the
 * mtime cannot be trusted (in the future: another machine's clock on a
 * share), when two checks `stabilityMs` apart see the same size and mtime.
 */
export class StabilityGate<R extends string = 'add' | 'change'> {
  private readonly pending = new Map<string, Pending<R>>();
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires. */
  private timerAt = Infinity;
  /** No later than the earliest `due` pending (a touch that pushes a path back leaves it early: one idle look). */
  private nextDue = Infinity;
  private lastTick = 0;
  private ticking = false;
  private closed = false;
  private readonly onTickError: (e: unknown) => void;
  private readonly merge: (held: R, next: R) => R;
  private readonly tickMs: number;

  constructor(
    private readonly base: string,
    private readonly stabilityMs: number,
    private readonly emit: (rel: string, reason: R, stat: FileStat) => void,
    hooks: {
      onTickError: (e: unknown) => void;
      /** Which reason a path keeps when it is handed in again with another: by default `add` outranks the rest. */
      merge?: (held: R, next: R) => R;
    },
  ) {
    this.onTickError = hooks.onTickError;
    this.merge = hooks.merge ?? ((held, next) => (held === 'add' ? held : next));
    // How much younger than stabilityMs an mtime may be and still count as quiet: the event
    // that led to the look arrived a little after the write that set the mtime.
    this.tickMs = Math.max(20, Math.min(250, Math.floor(stabilityMs / 4)));
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * The file changed (an event), or was found still changing (`dueAt`: its
   * mtime + stabilityMs, the earliest it can be quiet). It is looked at again
   * once that time has passed.
   */
  touch(rel: string, reason: R, dueAt = Date.now() + this.stabilityMs): void {
    if (this.closed) return;
    const p = this.pending.get(rel);
    if (p) {
      p.due = Math.max(p.due, dueAt);
      p.sig = undefined;
      p.reason = this.merge(p.reason, reason);
    } else {
      this.pending.set(rel, { reason, due: dueAt });
      this.nextDue = Math.min(this.nextDue, dueAt);
    }
    this.arm();
  }

  has(rel: string): boolean {
    return this.pending.has(rel);
  }

  cancel(rel: string): void {
    this.pending.delete(rel);
  }

  /** Forget everything under a folder that went away ('' for the whole root). */
  cancelUnder(dirRel: string): void {
    if (dirRel === '') {
      this.pending.clear();
      return;
    }
    const prefix = `${dirRel}/`;
    for (const k of this.pending.keys()) if (k.startsWith(prefix)) this.pending.delete(k);
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * One timer for all paths, set for the earliest `due` (so a quiet file is
   * reported when its window ends, not up to a tick later), and never more
   * often than every MIN_GAP_MS: each look walks every pending path.
   */
  private arm(): void {
    if (this.closed || this.ticking || this.pending.size === 0) return;
    const at = Math.max(this.nextDue, this.lastTick + MIN_GAP_MS, Date.now());
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      void this.tick().then(
        () => this.arm(),
        (e) => {
          this.onTickError(e);
          this.arm();
        },
      );
    }, at - Date.now());
  }

  private async tick(): Promise<void> {
    this.ticking = true;
    this.lastTick = Date.now();
    try {
      const now = this.lastTick;
      const due: [string, Pending<R>][] = [];
      for (const entry of this.pending) if (entry[1].due <= now) due.push(entry);
      await Promise.all(due.map(([rel, p]) => this.check(rel, p)));
    } finally {
      this.ticking = false;
      let next = Infinity;
      for (const p of this.pending.values()) if (p.due < next) next = p.due;
      this.nextDue = next;
    }
  }

  private async check(rel: string, p: Pending<R>): Promise<void> {
    let st: Awaited<ReturnType<typeof fs.lstat>>;
    try {
      st = await fs.lstat(this.base + rel);
    } catch {
      // Gone (a temp file renamed away, or deleted): the unlink event speaks for it.
      if (this.pending.get(rel) === p) this.pending.delete(rel);
      return;
    }
    if (this.closed || this.pending.get(rel) !== p) return;
    if (!st.isFile()) {
      this.pending.delete(rel);
      return;
    }
    const now = Date.now();
    if (p.due > now) return; // an event arrived while we were stat-ing
    const sig = `${st.size}:${st.mtimeMs}`;
    const age = now - st.mtimeMs;
    const quietByMtime = st.mtimeMs <= now && age >= this.stabilityMs - this.tickMs;
    if (quietByMtime || p.sig === sig) {
      this.pending.delete(rel);
      this.emit(rel, p.reason, { size: st.size, mtimeMs: st.mtimeMs });
      return;
    }
    // Still being written (or an untrustworthy mtime): look again after another quiet period.
    p.sig = sig;
    p.due = now + (st.mtimeMs <= now ? Math.max(this.tickMs, this.stabilityMs - age) : this.stabilityMs);
  }
}
