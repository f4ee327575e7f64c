import type { Counters, FaultSettings } from './types.js';

type Settings = Pick<FaultSettings, 'capacity' | 'serviceMs' | 'maxRequestsPerSecond'>;

/**
 * A server with a real optimum: it works on at most `capacity`
 * requests at once, each for `serviceMs`, and queues the rest in arrival
 * order, so more requests in flight than it has workers only add waiting.
 * In front of it a rate limit of `maxRequestsPerSecond` (a token bucket
 * holding a tenth of a second's worth, at least one) refuses what is beyond
 * it, as an API gateway or a cloud plan does. It also counts what the server
 * holds at once, which tests compare with a client's bounds.
 */
export class CapacityModel {
  #busy = 0;
  /** Requests past the queue, capacity or not: what maxWorking counts. */
  #working = 0;
  readonly #queue: Array<() => void> = [];
  #inFlight = 0;
  #uploadsInFlight = 0;
  #uploadsSince = 0;
  #tokens = 0;
  #refilledAt = 0;

  constructor(
    private readonly settings: () => Settings,
    private readonly counters: () => Counters,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** A request arrived (`upload`: it carries a file's bytes); `left` is called once when its answer is out (or its connection gone). */
  arrived(upload = false): () => void {
    this.#inFlight++;
    const c = this.counters();
    if (this.#inFlight > c.maxInFlight) c.maxInFlight = this.#inFlight;
    if (upload) this.#uploads(+1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      if (upload) this.#uploads(-1);
    };
  }

  /** Uploads held at once: the most, and their sum over time (its mean over a sync tells how full the client kept them). */
  #uploads(by: 1 | -1): void {
    const c = this.counters();
    const now = performance.now();
    if (this.#uploadsInFlight > 0) c.uploadMs += this.#uploadsInFlight * (now - this.#uploadsSince);
    this.#uploadsSince = now;
    this.#uploadsInFlight += by;
    if (this.#uploadsInFlight > c.maxUploadsInFlight) c.maxUploadsInFlight = this.#uploadsInFlight;
  }

  /** False when the rate limit refuses this request now (the caller answers 429). */
  admit(now: number): boolean {
    const rate = this.settings().maxRequestsPerSecond;
    if (!(rate > 0)) return true;
    const burst = Math.max(1, rate / 10);
    if (this.#refilledAt === 0) this.#tokens = burst;
    else this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilledAt) * rate) / 1000);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.counters().rateLimited++;
    return false;
  }

  /** Waits for a worker and its service time; the returned function frees the worker once the request is handled. */
  async work(): Promise<() => void> {
    const { capacity, serviceMs } = this.settings();
    if (capacity > 0) {
      if (this.#busy >= capacity) await new Promise<void>((resolve) => this.#queue.push(resolve));
      else this.#busy++;
    }
    this.#working++;
    const c = this.counters();
    if (this.#working > c.maxWorking) c.maxWorking = this.#working;
    if (serviceMs > 0) await this.sleep(serviceMs);
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      this.#working--;
      if (!(capacity > 0)) return;
      // The worker goes straight to the next in line: #busy stays as it is.
      const next = this.#queue.shift();
      if (next) next();
      else this.#busy--;
    };
  }
}
