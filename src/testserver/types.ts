/** Public shapes of the test server (docs/ARCHITECTURE.md, "testserver"). */
/** tusdotnet's default expiration in Squidex's AssetTusRunner. */
export const DEFAULT_TUS_EXPIRY_MS = 2 * 24 * 3600_000;

/** Switches for tests; `enabled: false` stands for a Squidex without the endpoint. */
export interface TusSwitches {
  enabled: boolean;
  /** How long an upload lives after its last PATCH (sliding, as tusdotnet's expiration). */
  expiryMs: number;
  /** Completing PATCHes whose answer is lost: the asset is written, then the connection is dropped. */
  loseFinalAnswers: number;
  /** Completing PATCHes answered 500 after the asset was written (the upsert "failed" as far as the client can tell). */
  failFinalAnswers: number;
  /** PATCHes whose connection drops once half their body is stored (a link lost mid-chunk; the half stays). */
  cutPatches: number;
}

export const DEFAULT_TUS: TusSwitches = {
  enabled: true,
  expiryMs: DEFAULT_TUS_EXPIRY_MS,
  loseFinalAnswers: 0,
  failFinalAnswers: 0,
  cutPatches: 0,
};

export interface InspectedTusUpload {
  id: string;
  offset: number;
  length: number;
  metadata: Record<string, string>;
}

export interface FaultSettings {
  /** Share of requests answered with 500/502/503. */
  rate5xx: number;
  /** Share of requests answered with 429. */
  rate429: number;
  /** Retry-After seconds on 429 (and sometimes 503); null sends none, as real Squidex does. */
  retryAfterSec: number | null;
  latencyMs: number;
  latencySpikeRate: number;
  latencySpikeMs: number;
  /** Share of requests whose socket is destroyed part-way through reading the body. */
  resetRate: number;
  /** Share of requests that are read and never answered. */
  hangRate: number;
  /** Every connection is destroyed at once, and every new /api or token request too. */
  down: boolean;
  /** Every /api and token request is answered with this status (with Retry-After when retryAfterSec is set); null = off. */
  forceStatus: number | null;
  /** Fault answers (forceStatus, rate5xx, rate429) are an HTML page, as a proxy in front of Squidex sends, not Squidex's JSON. */
  htmlErrors: boolean;
  /** Uploads of a file with exactly this name are answered 500 (after the body was read); others go through. */
  failUploadsNamed: string | null;
  /** Requests the server works on at once; the rest wait their turn in arrival order. 0 = no limit. */
  capacity: number;
  /** How long the server works on each request, holding one of `capacity` (ms). */
  serviceMs: number;
  /** Requests accepted per second; beyond it 429 (with Retry-After when retryAfterSec is set). 0 = no limit. */
  maxRequestsPerSecond: number;
}

export interface TestServerOptions {
  port?: number;
  app?: string;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of issued tokens; real Squidex uses 30 days. */
  tokenLifetimeSec?: number;
  maxUploadBytes?: number;
  /** false stores only sha256 + size of uploads, so benchmarks can send gigabytes. */
  keepBytes?: boolean;
  seed?: number;
  faults?: Partial<FaultSettings>;
  /** false: `POST /assets/bulk` answers 404, as a Squidex without the endpoint would. */
  bulk?: boolean;
  /** The tus endpoint (reference §8); `false` or `{ enabled: false }` stands for a Squidex without it. */
  tus?: boolean | Partial<TusSwitches>;
  /**
   * A reverse proxy's body limit in front of every route (nginx's client_max_body_size):
   * a request that declares more is answered 413 with the proxy's HTML page. 0 = none.
   */
  proxyMaxBodyBytes?: number;
  /**
   * Called for every API and token request before it is handled (tests in the
   * same process use it to change the disk at an exact step of the client).
   */
  onRequest?: (method: string, path: string) => void | Promise<void>;
}

export interface InspectedFolder {
  id: string;
  parentId: string;
  folderName: string;
  version: number;
  deleted: boolean;
}

export interface InspectedAsset {
  id: string;
  parentId: string;
  fileName: string;
  slug: string;
  mimeType: string;
  fileSize: number;
  fileHash: string;
  /** Hex SHA-256 of the stored bytes. */
  sha256: string;
  metadata: Record<string, unknown>;
  tags: string[];
  version: number;
  fileVersion: number;
  deleted: boolean;
}

export interface Counters {
  requests: number;
  byRoute: Record<string, number>;
  uploads: number;
  uploadBytes: number;
  /** File bytes received through tus PATCHes (also counted in uploadBytes). */
  tusBytes: number;
  faults: number;
  tokens: number;
  /** Most API and token requests the server held at once (arrived, not yet answered). */
  maxInFlight: number;
  /** Of those, most uploads held at once: requests carrying a file's bytes (multipart, or a tus PATCH). */
  maxUploadsInFlight: number;
  /** Uploads held, summed over the time each was held (ms): divided by a span, the mean held at once. */
  uploadMs: number;
  /** Most requests the server worked on at once (at most `capacity` when it is set). */
  maxWorking: number;
  /** Requests refused with 429 by maxRequestsPerSecond (also counted in faults). */
  rateLimited: number;
  /** When the first and the last upload counted in `uploads` were taken (ms since the epoch; 0 = none yet). */
  firstUploadAt: number;
  lastUploadAt: number;
}

export interface Inspection {
  folders: InspectedFolder[];
  assets: InspectedAsset[];
  counters: Counters;
  /** Times each asset id was created; a second create of a live id is a bug in the client. */
  createdIds: Record<string, number>;
  /** tus uploads not yet complete (and not expired). */
  tus: InspectedTusUpload[];
}

export interface TestServer {
  url: string;
  app: string;
  clientId: string;
  clientSecret: string;
  setFaults(f: Partial<FaultSettings>): void;
  /** Marks assets as used by content (true) or no longer (false): deletes with checkReferrers are refused for them. */
  setReferenced(ids: readonly string[], referenced?: boolean): void;
  /** Turns tus on or off, loses or fails completing answers, or expires every upload now. */
  setTus(s: Partial<TusSwitches> & { expireAll?: boolean }): void;
  /**
   * Stops listening (new connections are refused, ECONNREFUSED, as for a stopped
   * Squidex) and drops open ones; the store is kept. listen() opens the same port again.
   */
  stopListening(): Promise<void>;
  listen(): Promise<void>;
  inspect(): Inspection;
  /** Changes the upload size limit of a running server. */
  setMaxUploadBytes(n: number): void;
  resetCounters(): void;
  close(): Promise<void>;
}

export const ROOT_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_MAX_UPLOAD = 5 * 1024 * 1024;
export const DEFAULT_TOKEN_LIFETIME_SEC = 30 * 24 * 3600;

export const NO_FAULTS: FaultSettings = {
  rate5xx: 0,
  rate429: 0,
  retryAfterSec: null,
  latencyMs: 0,
  latencySpikeRate: 0,
  latencySpikeMs: 0,
  resetRate: 0,
  hangRate: 0,
  down: false,
  forceStatus: null,
  htmlErrors: false,
  failUploadsNamed: null,
  capacity: 0,
  serviceMs: 0,
  maxRequestsPerSecond: 0,
};
