import { Transform, type TransformCallback } from 'node:stream';
import { systemClock, type Clock } from './clock.js';
import { timerDelay } from './timers.js';

/** Burst ceiling: enough to keep a fast link busy between timer ticks, small enough that the cap holds over seconds. */
const MAX_BURST = 1024 * 1024;
/**
 * Chunks are cut to at most this size before they take tokens, so several
 * streams sharing one bucket interleave instead of one stream taking a whole
 * 1 MiB burst at a time.
 */
const MAX_PIECE = 64 * 1024;

interface Waiter {
  bytes: number;
  resolve(): void;
}

/**
 * `upload.maxBytesPerSecond`: one token bucket shared by every stream it
 * creates, so all workers together stay under the cap (rclone's --bwlimit and
 * Syncthing's maxSendKbps are global, not per transfer, for the same reason).
 *
 * Waiters are served first come, first served: a stream that asked first is
 * not starved by one that keeps arriving with small chunks.
 */
export class Bandwidth {
  readonly bytesPerSecond: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    bytesPerSecond: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!Number.isFinite(bytesPerSecond) || bytesPerSecond < 0) {
      throw new RangeError(`bytesPerSecond must be a finite number ≥ 0, got ${bytesPerSecond}`);
    }
    this.bytesPerSecond = bytesPerSecond;
    this.burst = bytesPerSecond === 0 ? 0 : Math.max(1, Math.floor(Math.min(bytesPerSecond, MAX_BURST)));
    // Start empty: the cap then holds from the first byte, and a 20 MB upload
    // is not 1 MiB "free" (a full bucket at start reads as a 5 % overshoot).
    this.tokens = 0;
    this.last = clock.now();
  }

  get unlimited(): boolean {
    return this.bytesPerSecond === 0;
  }

  /** A Transform that passes bytes through at the shared rate (a plain pass-through when unlimited). */
  stream(): Transform {
    if (this.unlimited) return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
    const piece = Math.min(this.burst, MAX_PIECE);
    const bucket = this;
    // An aborted upload destroys its stream: its place in the queue goes to the others.
    const gone = new AbortController();
    return new Transform({
      transform(this: Transform, chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        const push = async (): Promise<void> => {
          for (let off = 0; off < chunk.length; off += piece) {
            const part = chunk.subarray(off, Math.min(chunk.length, off + piece));
            await bucket.take(part.length, gone.signal);
            if (this.destroyed) return;
            this.push(part);
          }
        };
        push().then(() => cb(), cb);
      },
      destroy(err, cb) {
        gone.abort();
        cb(err);
      },
    });
  }

  /**
   * Resolves once `bytes` (≤ burst) may be sent. An aborted `signal` leaves the
   * queue without taking tokens and resolves at once (the caller checks why).
   */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.unlimited || bytes <= 0 || signal?.aborted) return Promise.resolve();
    const n = Math.min(bytes, this.burst);
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= n) {
      this.tokens -= n;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        bytes: n,
        resolve: () => {
          signal?.removeEventListener('abort', leave);
          resolve();
        },
      };
      const leave = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
        if (i === 0) this.reschedule();
      };
      signal?.addEventListener('abort', leave, { once: true });
      this.waiters.push(waiter);
      this.schedule();
    });
  }

  /** The head of the queue changed: its wait may be shorter (or there is none left). */
  private reschedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.bytesPerSecond) / 1000);
  }

  private drain(): void {
    this.timer = undefined;
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= this.waiters[0].bytes) {
      const w = this.waiters.shift()!;
      this.tokens -= w.bytes;
      w.resolve();
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return;
    const missing = this.waiters[0].bytes - this.tokens;
    const ms = Math.max(1, Math.ceil((missing * 1000) / this.bytesPerSecond));
    // Not unref'd: a waiter is a stream with bytes still to send, which should keep the process alive.
    this.timer = setTimeout(() => this.drain(), timerDelay(ms));
  }
}
