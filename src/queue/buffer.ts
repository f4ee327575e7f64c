import type { EnqueueItem } from './index.js';

export interface EnqueueBufferOptions {
  /** Longest an event waits in memory before it is written (default 25 ms). */
  flushMs?: number;
  /** Distinct paths that trigger an immediate write (default 1000). */
  maxItems?: number;
  /** A write failed (disk full, …); the events stay buffered and the next tick tries again. */
  onError?: (e: unknown) => void;
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
  // Keyed by mapping + NUL + path: NUL cannot occur in either.
  const pending = new Map<string, EnqueueItem>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  function flush(): void {
    if (timer) clearTimeout(timer), (timer = null);
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
      if (!closed) schedule();
      opts.onError?.(e);
    }
  }

  function schedule(): void {
    if (timer || closed) return;
    timer = setTimeout(flush, flushMs);
    timer.unref(); // a buffered event must not keep the process alive on its own
  }

  return {
    add(mapping, path, reason = null, delayMs) {
      const k = `${mapping}\0${path}`;
      pending.delete(k); // re-insert so the Map keeps arrival order of the latest event
      pending.set(k, delayMs === undefined ? { mapping, path, reason } : { mapping, path, reason, delayMs });
      if (pending.size >= maxItems) flush();
      else schedule();
    },
    flush,
    close() {
      closed = true;
      flush();
      if (timer) clearTimeout(timer), (timer = null);
    },
    get size() {
      return pending.size;
    },
  };
}
