/**
 * The validated configuration as the rest of the daemon sees it. Field names
 * follow the YAML keys; the few that change unit on the way in say so
 * (`rescanIntervalMs`). Every path here is absolute.
 */

export type DeletePolicy = 'keep' | 'delete';
export type WatchMode = 'auto' | 'events' | 'poll';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** What the daemon does about changes made in Squidex: list them, or put the share's version back. */
export type ServerChanges = 'report' | 'restore';

export interface Mapping {
  /** Stable id of the mapping: the key of its rows in the state database, and the CLI's handle (pause/status). */
  name: string;
  /** Absolute local folder (resolved against the config file's folder, `~` expanded; symlinks not resolved). */
  local: string;
  /** Asset folder path `A/B` with no leading or trailing slash; `''` is the app root. */
  remote: string;
  deletes: DeletePolicy;
  /** Only meaningful with `deletes: delete`: skip Squidex's recycle bin. */
  permanentDeletes: boolean;
  watch: WatchMode;
  /** Full rescan period in ms, or `'auto'`: DEFAULTS.rescanAuto.networkMs on network shares, .localMs on local disks. */
  rescanIntervalMs: number | 'auto';
  /** Extra picomatch globs, relative to `local`, POSIX separators. */
  ignore: string[];
  /** Apply the built-in OS/editor junk list (.DS_Store, Thumbs.db, ~$*, …). */
  ignoreDefaults: boolean;
  /** Tags added to every asset of the mapping. */
  tags: string[];
  /** Each folder name between the mapping root and the file becomes a tag. */
  folderTags: boolean;
  /** Keywords and credits from XMP/IPTC in the files and their .xmp sidecars become tags and metadata; sidecars are not uploaded. */
  embeddedMetadata: boolean;
}

export interface SquidexConfig {
  /** Base URL without trailing slash. */
  url: string;
  app: string;
  clientId?: string;
  clientSecret?: string;
  /** A static bearer token used instead of clientId/clientSecret. */
  token?: string;
  /** Absolute path of a PEM file with extra CA certificates. */
  ca?: string;
  timeoutSeconds: number;
  /** How long `once` keeps trying while Squidex does not answer (at start and mid-run) before exit 3. */
  connectTimeoutSeconds: number;
  allowInsecureHttp: boolean;
}

export interface SyncSettings {
  /** Requests to Squidex at once: 'auto' finds the server's pace (src/squidex/limiter.ts, 1..64); a number pins the uploads at once (gate.ts). */
  concurrency: number | 'auto';
  stabilityMs: number;
  debounceMs: number;
  maxWaitMs: number;
  maxAttempts: number;
  moveWindowMs: number;
  shutdownTimeoutMs: number;
  /** First retry delay of a failed job; doubles per attempt (with jitter) up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Longest pause a server's Retry-After is honoured for, in seconds. */
  maxServerPauseSeconds: number;
  /** YAML `verifyInterval`: how often the daemon compares the server with the state database; 0 = never. */
  verifyIntervalMs: number;
  serverChanges: ServerChanges;
}

export interface DeleteGuardSettings {
  enabled: boolean;
  maxShare: number;
  minFiles: number;
  /**
   * Deletions of a mapping are weighed together once it has seen no new one for this
   * long: events of one `rm -rf` may straggle, and each part alone can be under the share.
   */
  settleMs: number;
}

export interface NotifySettings {
  /** Slack, Mattermost and Teams incoming webhooks all take a JSON `{"text": …}`. */
  webhook: string | null;
  /** Extra request headers (an Authorization for a self-hosted receiver); never logged. */
  headers: Record<string, string>;
  /** At most one digest of failed files this often. */
  everyMinutes: number;
  /** Squidex unreachable or refusing the credentials this long before anyone is told. */
  afterMinutes: number;
}

export interface ConfigProblem {
  /** Key path such as `mappings[1].deletes`; `''` for the file as a whole. */
  key: string;
  /** A full sentence that names the key and the expected value; never contains a secret. */
  message: string;
}

export interface Config {
  /** Absolute path of the config file (or the name passed to parseConfig, resolved). */
  file: string;
  /** The folder relative paths were resolved against. */
  dir: string;
  squidex: SquidexConfig;
  /** Absolute path of the SQLite state file. It may lie inside a mapping: the watcher ignores it. */
  state: string;
  mappings: Mapping[];
  sync: SyncSettings;
  deleteGuard: DeleteGuardSettings;
  /**
   * maxBytesPerSecond: the cap for all uploads together (0 = none). Files above
   * tusAboveBytes go through Squidex's tus endpoint in pieces of chunkBytes
   * (resumable); tusAboveBytes defaults to chunkBytes.
   */
  upload: { maxBytesPerSecond: number; chunkBytes: number; tusAboveBytes: number };
  /**
   * port 0 = the endpoint is off. host is always a loopback address.
   * healthProbeSeconds: how often an idle daemon asks Squidex whether it answers, so /health stays honest.
   */
  http: { port: number; host: string; healthProbeSeconds: number };
  /** A webhook told when something needs a human; `webhook: null` = none. */
  notify: NotifySettings;
  log: { level: LogLevel };
  /** Things that are legal but probably not meant (e.g. a mapping root that is not mounted right now). */
  warnings: ConfigProblem[];
}

export interface ParseOptions {
  /** Path of the config file; relative paths in it resolve against its folder. */
  file: string;
  env?: Record<string, string | undefined>;
  /** Look at the file system (mapping roots, CA file, real paths for overlap). Default true. */
  checkPaths?: boolean;
  /**
   * What a mapping root that does not exist is. 'error' (default) for `check` and a first
   * start; 'allow' for the running daemon, where an unmounted share is the delete guard's
   * business at run time, not a reason to refuse to start. Allowed ones become warnings.
   */
  missingLocal?: 'error' | 'allow';
  /**
   * 'unused' for commands that never contact Squidex (status, retry, pause, …): an
   * unset variable in squidex.clientSecret or squidex.token is not an error there,
   * and the secret is left out of the Config. Default 'required'.
   */
  secrets?: 'required' | 'unused';
}

/** Defaults for every optional key. Frozen: callers copy, never mutate. */
export const DEFAULTS = Object.freeze({
  squidex: Object.freeze({ timeoutSeconds: 60, connectTimeoutSeconds: 60, allowInsecureHttp: false }),
  state: './.squidex-sync/state.db',
  mapping: Object.freeze({
    deletes: 'keep' as DeletePolicy,
    permanentDeletes: false,
    watch: 'auto' as WatchMode,
    rescanIntervalMs: 'auto' as const,
    ignore: Object.freeze([] as string[]),
    ignoreDefaults: true,
    tags: Object.freeze([] as string[]),
    folderTags: false,
    embeddedMetadata: true,
  }),
  /**
   * What `rescanInterval: auto` means: shares lose events, so rescan them often (as Syncthing does);
   * a file system that could not be told apart (no mount table) gets events and a rescan every 5 minutes.
   */
  rescanAuto: Object.freeze({ networkMs: 60_000, localMs: 3_600_000, unknownMs: 300_000 }),
  sync: Object.freeze({
    // auto: small files are bound by round trips, and the right number of them at once
    // depends on the server (src/squidex/limiter.ts); a number pins it.
    concurrency: 'auto',
    stabilityMs: 2000,
    debounceMs: 1000,
    maxWaitMs: 30_000,
    maxAttempts: 10,
    moveWindowMs: 10_000,
    shutdownTimeoutMs: 30_000,
    backoffBaseMs: 2000,
    backoffMaxMs: 600_000,
    maxServerPauseSeconds: 3600,
    verifyIntervalMs: 86_400_000,
    // An editor who removed an asset on purpose must not have the daemon fight them.
    serverChanges: 'report' as ServerChanges,
  }),
  deleteGuard: Object.freeze({ enabled: true, maxShare: 0.5, minFiles: 20, settleMs: 10_000 }),
  // 4 MiB chunks stay under Squidex's default per-request limit (5 MiB) with room to spare.
  upload: Object.freeze({ maxBytesPerSecond: 0, chunkBytes: 4 * 1024 * 1024, tusAboveBytes: 4 * 1024 * 1024 }),
  // The local page is on by default: 7463 is in no common registry of local services.
  http: Object.freeze({ port: 7463, host: '127.0.0.1', healthProbeSeconds: 60 }),
  notify: Object.freeze({
    webhook: null as string | null,
    headers: Object.freeze({}) as Record<string, string>,
    everyMinutes: 15,
    afterMinutes: 10,
  }),
  log: Object.freeze({ level: 'info' as LogLevel }),
});
