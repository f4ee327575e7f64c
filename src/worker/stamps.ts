import { untilAborted } from '../lib/abort.js';
import type { Clock } from '../lib/clock.js';
import { describeError, SyncError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import {
  isGoneOnServer,
  isGoneStatus,
  isMissingRoute,
  isUnreadableRequest,
  isVersionConflict,
  squidexVerdict,
  SquidexError,
  type AnnotateInput,
  type AssetDto,
  type BulkJob,
  type BulkResult,
  type SquidexClient,
} from '../squidex/index.js';
import type { FileMetadata } from '../metadata/index.js';
import type { Annotation, PendingStamp, State } from '../state/index.js';
import { META_PATH, META_SHA } from './mapping.js';
import { merged, wire, type StampBody } from './stampbody.js';

export { stampBody, type StampBody } from './stampbody.js';
import { timerDelay } from '../lib/timers.js';

/** Squidex bulk requests stay small enough to answer quickly; 100 stamps are ~30 KB. */
const BATCH = 100;
/**
 * A stamp waits at most this long for others to share its request. Each bulk
 * request is one more round trip for the server to take beside the uploads
 * (under a rate limit, one fewer upload), so a longer gather sends fewer.
 */
const GATHER_MS = 1000;
/** A stamp refused this often (not a missing asset) is given up: the file is in sync, only its stamp is missing. */
const MAX_ATTEMPTS = 5;
const MAX_BACKOFF_MS = 60_000;
/**
 * A stamp older than this (the server refused it for a while, or the process
 * stopped before sending it) is merged into the asset's metadata as it is at
 * sending time: Squidex replaces metadata wholesale, and someone may have
 * edited it since the upload.
 */
const STALE_MS = 30_000;

export interface StamperDeps {
  state: State;
  client: Pick<SquidexClient, 'bulk' | 'annotate' | 'getAsset'>;
  clock: Clock;
  logger: Logger;
}

/**
 * Sends the metadata stamps the workers leave in the state database, many per
 * `POST /assets/bulk`, one request at a time. A stamp only matters when the
 * state database is lost (adoption by stamp), so it may trail its upload by a
 * moment; it is never lost to a crash, since it is written with the job's
 * synced row and deleted only once the server took it.
 */
export class Stamper {
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<boolean> | undefined;
  /** Assets whose stamp is in the request now on the wire. */
  readonly #sending = new Set<string>();
  #failures = 0;
  #blockedUntil = 0;
  #retryLater = false;
  #noBulk = false;
  /** Stopped: no gather timer any more, and a request cut by the client's close is no news (its stamps wait for the next start). */
  #stopped = false;

  constructor(private readonly deps: StamperDeps) {
    this.#log = deps.logger.child({ component: 'stamps' });
  }

  /** New stamps were committed: send them soon, together with whatever else arrives meanwhile. */
  notify(): void {
    if (this.#stopped) return;
    if (this.#flushing) this.#retryLater = true; // may have come after its last look
    if (this.#timer || this.#flushing) return;
    const wait = Math.max(GATHER_MS, this.#blockedUntil - this.deps.clock.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush(false);
    }, timerDelay(wait));
    this.#timer.unref();
  }

  /**
   * Sends every pending stamp. True when none is left; false when the server
   * refused the request (the stamps stay for a later try). `all: false` (the
   * gather timer) sends full batches back to back but leaves a short one's
   * late-comers to the next gather: otherwise each bulk request's round trip
   * became the gather time, and a slow server got a bulk request per few files.
   */
  flush(all = true): Promise<boolean> {
    this.#flushing ??= this.#sendAll(all).finally(() => {
      this.#flushing = undefined;
      if (this.#retryLater) {
        this.#retryLater = false;
        this.notify();
      }
    });
    return this.#flushing;
  }

  /** Sends what is pending now and waits for it (`once`, shutdown); never waits out a back-off. */
  async drain(): Promise<boolean> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    return this.flush();
  }

  /**
   * A direct annotate of this asset is about to go out (a move, an adoption):
   * it carries the current stamp, so a pending one must neither be sent after
   * it nor still be on the wire. Rejects with `signal`'s reason when the job
   * aborts meanwhile (a stop): its stamp then stays pending, untouched.
   */
  async before(assetId: string, signal?: AbortSignal): Promise<void> {
    if (this.#sending.has(assetId)) await untilAborted(Promise.resolve(this.#flushing), signal);
    // What the file said rides with its stamp: kept, as the direct write merges from it.
    const source = this.deps.state.stamps
      .drop(assetId)
      .map((b) => (b as StampBody).source)
      .filter(Boolean)
      .at(-1);
    if (source) this.deps.state.annotations.setSource(assetId, source, this.deps.clock.now());
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #sendAll(all: boolean): Promise<boolean> {
    try {
      for (let round = 0; round < 10_000; round++) {
        // Not while the server asked everyone to wait (429/503 seen by an upload), nor in our
        // own back-off; asked before every round, as a pause can begin during the one before.
        const until = Math.max(this.#blockedUntil, this.deps.state.jobs.pausedUntil());
        if (this.deps.clock.now() < until) {
          this.#blockedUntil = until;
          this.#retryLater = true;
          return false;
        }
        const batch = this.deps.state.stamps.pending(BATCH);
        if (batch.length === 0) return true;
        if (!(await this.#send(batch))) return false;
        if (!all && batch.length < BATCH) {
          this.#retryLater = true;
          return true;
        }
      }
    } catch (e) {
      this.#backOff(e); // the state database refused (disk full, locked): the stamps wait in it
    }
    return false;
  }

  async #send(pending: PendingStamp[]): Promise<boolean> {
    // Only the newest stamp of an asset goes out; older ones are settled with it.
    const newest = new Map<string, PendingStamp>();
    for (const s of pending) newest.set(s.assetId, s);
    const all = [...newest.values()];
    let batch = all;
    const superseded = pending.filter((s) => newest.get(s.assetId) !== s).map((s) => s.seq);
    for (const s of all) this.#sending.add(s.assetId);
    try {
      const gone = await this.#refreshStale(batch);
      batch = batch.filter((s) => !gone.has(s.seq));
      const jobs: BulkJob[] = batch.map((s) => ({ ...wire(s.body as StampBody), id: s.assetId, type: 'Annotate' }));
      const results = jobs.length > 0 ? await this.#bulk(jobs) : [];
      const done: number[] = [...superseded, ...gone];
      const refused: number[] = [];
      const stale: number[] = [];
      const applied: Array<[string, Annotation]> = [];
      const sources: Array<[string, FileMetadata]> = [];
      const failed: Array<[string, string]> = [];
      for (const [i, s] of batch.entries()) {
        const error = (results[i]?.jobIndex === i ? results[i] : results.find((r) => r.jobIndex === i))?.error;
        const status = error?.statusCode ?? 0;
        const { owned, source } = s.body as StampBody;
        if (!error && owned) applied.push([s.assetId, owned]);
        if (source && (!error || s.attempts + 1 >= MAX_ATTEMPTS)) sources.push([s.assetId, source]);
        // Deleted on the server meanwhile: nothing left to stamp.
        if (!error || isGoneStatus(status)) {
          done.push(s.seq);
          continue;
        }
        const said = error.message ?? `HTTP ${status}`;
        if (s.attempts + 1 >= MAX_ATTEMPTS) {
          this.#log.warn(
            { assetId: s.assetId, status },
            'Squidex refused the metadata stamp of asset %s %d times (%s); giving up on it. The file is in sync; only a lost state database could not recognise it by its stamp.',
            s.assetId,
            MAX_ATTEMPTS,
            said,
          );
          if (owned) failed.push([s.assetId, `Squidex refused its tags and metadata ${MAX_ATTEMPTS} times: ${said}`]);
          done.push(s.seq);
          continue;
        }
        // The asset changed since this stamp was computed: read it again and merge again, next round.
        if (isVersionConflict(status)) stale.push(s.seq);
        else refused.push(s.seq);
      }
      const now = this.deps.clock.now();
      this.deps.state.stamps.settle(done, refused, () => {
        this.deps.state.stamps.restale(stale);
        const annotations = this.deps.state.annotations;
        const ownedOf = new Map(applied);
        for (const [id, source] of sources) {
          const owned = ownedOf.get(id);
          if (owned) annotations.setAppliedAndSource(id, owned, source, now);
          else annotations.setSource(id, source, now);
          ownedOf.delete(id);
        }
        for (const [id, owned] of ownedOf) annotations.setApplied(id, owned, now);
        for (const [id, message] of failed) this.deps.state.annotations.setError(id, message, now);
      });
      // A 412 is no failure of the server: the next round reads the asset again and merges again.
      if (refused.length === 0) {
        this.#failures = 0;
        return true;
      }
      this.#backOff(
        new SyncError('STAMP_REFUSED', `Squidex refused ${refused.length} metadata stamps; they are tried again.`, { retry: 'retry' }),
      );
      return false;
    } catch (e) {
      this.#backOff(e);
      return false;
    } finally {
      for (const s of all) this.#sending.delete(s.assetId);
    }
  }

  /**
   * One bulk request; one annotate per stamp, eight at a time, when the server
   * has no bulk endpoint (404/405 for the route: an older or trimmed Squidex;
   * from then on) or cannot read this body (400; this batch only), so stamps
   * still land.
   */
  async #bulk(jobs: BulkJob[]): Promise<BulkResult[]> {
    if (!this.#noBulk) {
      try {
        return await this.deps.client.bulk(jobs);
      } catch (e) {
        if (!isMissingRoute(e) && !isUnreadableRequest(e)) throw e;
        if (isMissingRoute(e)) {
          this.#noBulk = true;
          this.#log.warn('Squidex has no bulk endpoint for assets (%s); metadata stamps go out one request each.', describeError(e));
        }
      }
    }
    const results: BulkResult[] = new Array(jobs.length);
    await eightAtATime(jobs, async (job, jobIndex) => {
      const { id, type: _type, expectedVersion, ...body } = job as BulkJob & AnnotateInput & { expectedVersion?: number };
      try {
        await this.deps.client.annotate(id, body, { expectedVersion });
        results[jobIndex] = { jobIndex, id };
      } catch (e) {
        // Refused for this asset (deleted, forbidden): its result, like bulk's. Anything else waits.
        if (!(e instanceof SquidexError) || squidexVerdict(e) === 'transient') throw e;
        results[jobIndex] = { jobIndex, id, error: { statusCode: e.status!, message: describeError(e) } };
      }
    });
    return results;
  }

  /**
   * Stale stamps take the asset's metadata and tags as they are now, keeping
   * only our two keys from the stamp (and the name, which mirrors the local
   * file) and merging the plan's tags and metadata again. Returns the stamps
   * whose asset is gone: nothing left to stamp.
   */
  async #refreshStale(batch: PendingStamp[]): Promise<Set<number>> {
    const now = this.deps.clock.now();
    const stale = batch.filter((s) => now - s.createdAt >= STALE_MS);
    const gone = new Set<number>();
    await eightAtATime(stale, async (s) => {
      let asset: AssetDto | null;
      try {
        asset = await this.deps.client.getAsset(s.assetId);
      } catch (e) {
        if (!isGoneOnServer(e)) throw e;
        asset = null;
      }
      if (!asset) return void gone.add(s.seq);
      const body = s.body as StampBody;
      const ours = body.metadata ?? {};
      const { fileName, slug, source } = body;
      s.body = {
        ...(fileName ? { fileName, slug } : {}),
        ...merged(asset, ours[META_SHA], ours[META_PATH], body.plan),
        expectedVersion: asset.version,
        ...(source ? { source } : {}),
      };
      if (ours[META_SHA] === undefined) delete (s.body.metadata as Record<string, unknown>)[META_SHA];
      if (ours[META_PATH] === undefined) delete (s.body.metadata as Record<string, unknown>)[META_PATH];
    });
    return gone;
  }

  #backOff(e: unknown): void {
    const err = e instanceof SyncError ? e : undefined;
    const wait = err?.retryAfterMs ?? Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.#failures);
    this.#failures++;
    this.#blockedUntil = this.deps.clock.now() + wait;
    // Once per streak: the uploads' own errors say the rest.
    if (this.#failures === 1 && !this.#stopped) {
      this.#log.warn({ code: err?.code, retryInMs: wait }, 'metadata stamps wait: %s', describeError(e));
    }
    this.#retryLater = true;
  }
}

/** Runs `fn` over the items, eight requests on the wire at most; the first error ends it. */
async function eightAtATime<T>(items: readonly T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, items.length) }, lane));
}
