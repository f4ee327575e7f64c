import { timerDelay } from '../lib/timers.js';

/** One event for the queue: "look at this path". */
export interface EnqueueItem {
  mapping: string;
  path: string;
  reason?: string | null;
  /**
   * Delay before the job is due, instead of the debounce. 0 for hints about a
   * path that is already quiet (a rescan's stat, a watcher event that waited
   * out the stability window): debouncing those again only adds latency.
   */
  delayMs?: number;
  /**
   * A hint that does less than any other reason (tags and metadata only): a
   * job already queued for the path keeps its own reason.
   */
  weak?: boolean;
}

export interface EnqueueBufferOptions {
  /** Longest an event waits in memory before it is written (default 25 ms). */
  flushMs?: number;
  /** Distinct paths that trigger an immediate write (default 1000). */
  maxItems?: number;
  /**
   * A write failed (disk full, …); the events stay buffered and are written
   * again after a back-off. Called for the first failure of a run of them,
   * then at most once per `reportEveryMs`, with how many failed since the last call.
   */
  onError?: (e: unknown, failures: number) => void;
  /**
   * Writes work again after `failures` failed ones. `dropped`: events were
   * thrown away meanwhile (more than `maxPending` paths); a rescan finds them.
   */
  onRecovered?: (failures: number, dropped: boolean) => void;
  /** Paths kept in memory while writes fail; past it they are dropped (default 100,000). */
  maxPending?: number;
  /** Longest wait between two tries while writes fail (default 10 s). */
  maxRetryMs?: number;
  /** Least time between two onError calls while writes keep failing (default 60 s). */
  reportEveryMs?: number;
}

export interface EnqueueBuffer {
  add(mapping: string, path: string, reason?: string | null, delayMs?: number): void;
  /** Writes everything buffered now, in one transaction. */
  flush(): void;
  /** Flushes and stops the timer. */
  close(): void;
  readonly size: number;
}

/**
 * Watcher events, coalesced in memory and written with one enqueueMany per
 * tick: at synchronous=FULL one commit per event caps out near 6k events/s
 * (one fsync each), a flush per tick does >100k/s. An event still in memory
 * when the process dies is lost, which is safe only because events are hints:
 * the rescan at start finds the change again.
 */
export function createEnqueueBuffer(
  queue: { enqueueMany(items: readonly EnqueueItem[]): void },
  opts: EnqueueBufferOptions = {},
): EnqueueBuffer {
  const flushMs = opts.flushMs ?? 25;
  const maxItems = opts.maxItems ?? 1000;
  const maxRetryMs = opts.maxRetryMs ?? 10_000;
  const reportEveryMs = opts.reportEveryMs ?? 60_000;
  const maxPending = opts.maxPending ?? 100_000;
  // Keyed by mapping + NUL + path: NUL cannot occur in either.
  const pending = new Map<string, EnqueueItem>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  /** Writes failed in a row; while > 0, only the back-off timer writes (a full disk is not retried per event). */
  let failures = 0;
  let unreported = 0;
  let reportedAt = -Infinity;
  let dropped = false;

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending.size === 0) return;
    const items = [...pending.values()];
    pending.clear();
    try {
      queue.enqueueMany(items);
    } catch (e) {
      // Newer events that arrived meanwhile win; older ones go back in.
      for (const it of items) {
        const k = `${it.mapping}\0${it.path}`;
        if (!pending.has(k)) pending.set(k, it);
      }
      failures += 1;
      unreported += 1;
      if (!closed) schedule();
      const now = Date.now();
      if (failures === 1 || now - reportedAt >= reportEveryMs) {
        reportedAt = now;
        const n = unreported;
        unreported = 0;
        opts.onError?.(e, n);
      }
      return;
    }
    if (failures > 0 || dropped) opts.onRecovered?.(failures, dropped);
    failures = 0;
    unreported = 0;
    dropped = false;
  }

  function schedule(): void {
    if (timer || closed) return;
    const wait = failures === 0 ? flushMs : Math.min(maxRetryMs, flushMs * 2 ** Math.min(failures, 20));
    timer = setTimeout(flush, timerDelay(wait));
    timer.unref(); // a buffered event must not keep the process alive on its own
  }

  return {
    add(mapping, path, reason = null, delayMs) {
      const k = `${mapping}\0${path}`;
      pending.delete(k); // re-insert so the Map keeps arrival order of the latest event
      pending.set(k, delayMs === undefined ? { mapping, path, reason } : { mapping, path, reason, delayMs });
      if (pending.size > maxPending) {
        // Events are hints: past this, memory matters more than they do. The latest
        // stays, so the next write that works tells that some were dropped.
        const latest = pending.get(k)!;
        pending.clear();
        pending.set(k, latest);
        dropped = true;
      }
      if (pending.size >= maxItems && failures === 0) flush();
      else schedule();
    },
    flush,
    close() {
      closed = true;
      flush();
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
    },
    get size() {
      return pending.size;
    },
  };
}
