import type { Clock } from '../lib/clock.js';
import type { FolderResolver } from '../squidex/index.js';
import type { Job, JobQueue } from '../state/jobs.js';
import type { FilesRepo } from '../state/files.js';
import { remoteDirOf, type MappingRuntime } from './mapping.js';

/** What claiming ahead reads and starts: the queue, the clock, and the folders of claimed jobs to warm. */
export interface AheadDeps {
  jobs: Pick<JobQueue, 'claim' | 'pausedUntil'>;
  /** To read the claimed paths' rows with the claim: one statement, in its transaction, instead of one per job. */
  files?: Pick<FilesRepo, 'rowsOf' | 'moves'>;
  clock: Clock;
  mappings?: ReadonlyMap<string, MappingRuntime>;
  resolver?: Pick<FolderResolver, 'resolve'>;
}

export interface AheadOptions {
  /** Names this worker's claims. */
  token: string;
  /** Worker slots; read at every use, so they can change at run time. */
  concurrency: number | (() => number);
  /** Most jobs claimed ahead of the worker slots. */
  maxAhead: number;
  pausedMappings?: () => string[];
}

/**
 * How the pool claims jobs ahead of its worker slots. Every look at the queue
 * is one commit: an fsync at synchronous=FULL that stalls the event loop, and
 * a rewrite of every index page the batch touched (random keys: one page per
 * file per index). Claiming ahead what the workers finish in about a quarter
 * of a second, and looking again only when it runs low, makes one commit per
 * hundreds of small files, and stays at a few for big files (docs/benchmarks.md).
 */
export class ClaimAhead {
  #finished = 0;
  #rate = 0;
  #rateAt = 0;
  #rateFinished = 0;
  #rateKnown = false;
  /** Crashed or failed jobs came up in the last claim: claim no further than the worker slots. */
  #careful = false;
  #pauseCheckedAt = Number.NEGATIVE_INFINITY;
  #pausedUntil = 0;
  #pausedSet = new Set<string>();

  constructor(
    private readonly deps: AheadDeps,
    private readonly opts: AheadOptions,
  ) {}

  get concurrency(): number {
    const c = this.opts.concurrency;
    return typeof c === 'function' ? c() : c;
  }

  /** A job ended (any outcome): feeds the rate. */
  finished(): void {
    this.#finished++;
  }

  /**
   * Worker slots plus the jobs they finish in about 250 ms (at least one more
   * round). Until a rate is known it is measured over 50 ms windows, so that a
   * first sync does not spend its first 200 ms claiming a few jobs per commit.
   */
  depth(now: number): number {
    // A wall clock stepped back starts a new window rather than freezing this one.
    if (now - this.#rateAt >= (this.#rateKnown ? 200 : 50) || now < this.#rateAt) {
      if (this.#rateAt > 0 && now > this.#rateAt) {
        this.#rate = ((this.#finished - this.#rateFinished) * 1000) / (now - this.#rateAt);
        this.#rateKnown = true;
      }
      this.#rateAt = now;
      this.#rateFinished = this.#finished;
    }
    const c = this.concurrency;
    if (this.#careful) return c;
    return c + Math.min(Math.max(c, this.opts.maxAhead), Math.max(c, Math.round(this.#rate / 4)));
  }

  /**
   * Is a look at the queue worth its commit? Not to top up one job as each
   * finishes (one fsync each while the rate is still unknown): a quarter of the
   * depth at once, or whatever is due when no claimed job is left waiting.
   */
  worthClaiming(free: number, depth: number, waiting: number): boolean {
    return free > 0 && (waiting === 0 || free >= Math.max(1, Math.floor(depth / 4)));
  }

  /**
   * Up to `free` jobs, in the caller's transaction. A job claimed for the
   * second time failed before or was running when the process died; while such
   * jobs come up, nothing more is claimed ahead of the worker slots. Every
   * claimed job counts an attempt, and a crash spends them all: a job that kills
   * the process then takes at most `concurrency - 1` others with it to the
   * crash-loop guard (failed after maxAttempts), not the hundreds claimed ahead.
   */
  claim(free: number, excludeMappings: string[]): Job[] {
    const { jobs } = this.deps;
    const { token } = this.opts;
    const slots = Math.min(free, this.concurrency);
    const first = jobs.claim(token, slots, { excludeMappings });
    if (first.length > 0) this.#careful = first.some((j) => j.attempts > 1);
    const claimed =
      free <= slots || first.length < slots || this.#careful
        ? first
        : first.concat(jobs.claim(token, free - first.length, { excludeMappings }));
    if (claimed.length > 0) {
      this.#readRows(claimed);
      this.#warmFolders(claimed);
    }
    return claimed;
  }

  #readRows(claimed: readonly Job[]): void {
    const { files } = this.deps;
    if (!files) return;
    const byMapping = new Map<string, Job[]>();
    for (const job of claimed) {
      const list = byMapping.get(job.mapping);
      if (list) list.push(job);
      else byMapping.set(job.mapping, [job]);
    }
    const at = files.moves;
    for (const [mapping, jobs] of byMapping) {
      const rows = files.rowsOf(
        mapping,
        jobs.map((j) => j.path),
      );
      for (const job of jobs) {
        job.row = rows.get(job.path) ?? null;
        job.rowAt = at;
      }
    }
  }

  /**
   * Paused (by the user, or by the server's 429/503) since this job was claimed
   * ahead: hand it back. The pauses are read at most every 200 ms (two queries
   * per job showed in profiles), and at once after a server refusal here.
   */
  pausedSinceClaim(job: Job): boolean {
    const now = this.deps.clock.now();
    if (now - this.#pauseCheckedAt >= 200 || now < this.#pauseCheckedAt) {
      this.#pauseCheckedAt = now;
      this.#pausedUntil = this.deps.jobs.pausedUntil();
      this.#pausedSet = new Set(this.opts.pausedMappings?.() ?? []);
    }
    return this.#pausedUntil > now || this.#pausedSet.has(job.mapping);
  }

  /** A job here was told to wait (429/503): the next job start reads the pause, not a cached look. */
  serverPaused(): void {
    this.#pauseCheckedAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * Starts resolving (listing or creating) the asset folders of claimed jobs,
   * one chain per folder at once: otherwise the workers all wait on the folder
   * of the file in front, and a first sync pays one round trip per new folder
   * in a row. Only for
   * files that are there (a deleted folder is never re-created here); a failure
   * is the job's to report when it asks for the same folder.
   */
  #warmFolders(claimed: readonly Job[]): void {
    const { mappings, resolver } = this.deps;
    if (!mappings || !resolver) return;
    const dirs = new Set<string>();
    for (const job of claimed) {
      const mapping = mappings.get(job.mapping);
      if (!mapping || job.reason === 'gone' || job.reason === 'unlink') continue;
      dirs.add(remoteDirOf(mapping, job.path));
    }
    for (const dir of dirs) resolver.resolve(dir).catch(() => undefined);
  }
}

export interface FoldersAheadOptions {
  /** Folder requests at once; read at every start, so it follows `concurrency: auto`. */
  inFlight: () => number;
  /** Squidex away, or asked everyone to wait: nothing is started (the files' jobs resolve their folders when they run). */
  blocked?: () => boolean;
}

/**
 * Finds or creates the asset folders a rescan's new files will need, in the
 * background, before their jobs reach a worker: a first sync of many folders
 * otherwise starts with a round trip per folder in front of its first file.
 * Through the resolver, so a folder is created once however many of these and
 * of the workers ask for it at once (single-flight per path, then cached); its
 * requests pass the same limiter as the uploads, at most `inFlight()` at once,
 * so the uploads keep the rest. A failure is the job's to report when it asks
 * for the same folder.
 */
export class FoldersAhead {
  /** Remote folder paths waiting, in the order the workers will reach them. */
  readonly #waiting = new Set<string>();
  #running = 0;
  #stopped = false;
  /** Until the server is known to take us (`once` checks it while the rescan runs): folders are gathered, none is made. */
  #held = false;
  #idle: Array<() => void> = [];

  constructor(
    private readonly resolver: Pick<FolderResolver, 'resolve'>,
    private readonly opts: FoldersAheadOptions,
  ) {}

  /** The folders of these files of a mapping (their jobs are queued, not deletions). */
  add(mapping: MappingRuntime, paths: Iterable<string>): void {
    if (this.#stopped) return;
    for (const path of paths) this.#waiting.add(remoteDirOf(mapping, path));
    this.#pump();
  }

  /** Resolves once nothing is waiting or running (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Makes nothing until `check` passes (then what was gathered), nor after it failed (a stop). */
  holdUntil(check: Promise<unknown>): void {
    this.#held = true;
    check.then(
      () => {
        this.#held = false;
        this.#pump();
      },
      () => this.stop(),
    );
  }

  /** A stop: nothing more is started; what runs ends with the client. */
  stop(): void {
    this.#stopped = true;
    this.#waiting.clear();
    this.#settle();
  }

  #pump(): void {
    if (this.#held && !this.#stopped) return;
    if (this.#stopped || this.opts.blocked?.()) this.#waiting.clear();
    const most = Math.max(1, this.opts.inFlight());
    for (const dir of this.#waiting) {
      if (this.#running >= most) break;
      this.#waiting.delete(dir);
      this.#running++;
      this.resolver
        .resolve(dir)
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
    this.#settle();
  }

  #settle(): void {
    if (this.#running > 0 || this.#waiting.size > 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
