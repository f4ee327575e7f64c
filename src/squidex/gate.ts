/**
 * A pinned `sync.concurrency: N`: at most N uploads on the wire at once. The
 * pool runs a few more jobs than N (limiter.ts, workersFor), so that while one
 * job opens, reads, hashes and records its file the N upload slots stay full;
 * the extra jobs wait here, before their body is opened. Only uploads pass
 * through it: the folders made ahead, the stamps and the token go beside them
 * on connections of their own (cli/runtime.ts), as the ceiling of the
 * benchmark gives its N slots to uploads alone.
 *
 * A pinned number does not adapt. The one thing a refusal (429, 503) changes:
 * until an upload is answered without one, uploads go one at a time, and none
 * is sent while the queue holds the pause Squidex asked for. Without that, the
 * extra jobs waiting here would each meet the refusal that the uploads on the
 * wire had just met.
 */
import { SquidexError } from './errors.js';
import { type InLine, type Pace, type RequestLimiter, type Ticket, waitInLine } from './limiter.js';

export interface UploadGateOptions {
  /** Epoch ms until which Squidex asked everyone to wait (the queue's pause); 0 or past: none. */
  pausedUntil?: () => number;
  now?: () => number;
}

export class UploadGate implements RequestLimiter {
  #inFlight = 0;
  readonly #waiting: InLine[] = [];
  /** A refusal came back and no upload has been taken since. */
  #refused = false;
  readonly #pausedUntil: () => number;
  readonly #now: () => number;

  constructor(
    /** Uploads allowed on the wire at once. */
    readonly limit: number,
    opts: UploadGateOptions = {},
  ) {
    this.#pausedUntil = opts.pausedUntil ?? (() => 0);
    this.#now = opts.now ?? Date.now;
  }

  /** Uploads on the wire now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Uploads waiting for room: jobs ready to send. */
  get waiting(): number {
    return this.#waiting.length;
  }

  enter(signal?: AbortSignal): Promise<Ticket> {
    signal?.throwIfAborted();
    if (this.#waiting.length === 0 && this.#inFlight < this.#room()) {
      const held = this.#held();
      return held ? Promise.reject(held) : Promise.resolve(this.#admit());
    }
    return waitInLine(this.#waiting, signal);
  }

  enterNow(signal?: AbortSignal): Ticket | undefined {
    // After a refusal the pause may hold it: enter() reads it.
    if (signal?.aborted || this.#refused || this.#waiting.length > 0 || this.#inFlight >= this.limit) return undefined;
    return this.#admit();
  }

  /** Never asked: a 429 without Retry-After under a pinned number is the queue's pause at once (call.ts). */
  retryDelayMs(n: number): number {
    return Math.min(5000, 100 * 2 ** n);
  }

  #room(): number {
    return this.#refused ? 1 : this.limit;
  }

  /** After a refusal only: the pause the queue holds, as the error the upload would have met. One read of the state per upload at most. */
  #held(): SquidexError | undefined {
    if (!this.#refused) return undefined;
    let until = 0;
    try {
      until = this.#pausedUntil();
    } catch {
      // A state that cannot be read says nothing of a pause: the upload goes, and meets the server's answer.
    }
    const left = until - this.#now();
    if (!(left > 0)) return undefined;
    return new SquidexError(
      'RATE_LIMITED',
      `Not sent: Squidex asked us to wait ${Math.ceil(left / 1000)} s more (it refused another upload).`,
      {
        retry: 'pause',
        retryAfterMs: left,
      },
    );
  }

  #admit(): Ticket {
    this.#inFlight++;
    let over = false;
    return {
      done: (pace: Pace) => {
        if (over) return;
        over = true;
        this.#inFlight--;
        if (pace === 'overload') this.#refused = true;
        else if (pace === 'sample') this.#refused = false;
        this.#release();
      },
    };
  }

  #release(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#room()) {
      const next = this.#waiting.shift()!;
      const held = this.#held();
      if (held) next.reject(held);
      else next.resolve(this.#admit());
    }
  }
}
