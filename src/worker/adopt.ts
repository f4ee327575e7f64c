import type { Clock } from '../lib/clock.js';
import type { AssetDto, SquidexClient } from '../squidex/index.js';
import { squidexFileHash } from '../squidex/index.js';
import { hexToBase64, type FileDigest } from './hash.js';
import { META_PATH, META_SHA } from './mapping.js';

/** What matching needs of an asset, and what adopting one records: not the whole record. */
export interface AdoptionCandidate {
  id: string;
  parentId: string;
  fileName: string;
  fileHash?: string;
  version: number;
  /** Our stamps (META_PATH, META_SHA), when the asset has them. */
  stampedPath?: string;
  stampedSha?: string;
}

export interface AdoptionIndexOptions {
  /** How long a folder's listing is trusted. @default 600000 (10 min) */
  ttlMs?: number;
  /** Folders whose listings are kept at most; the oldest go first. @default 1000 */
  maxFolders?: number;
  /** Assets kept over all listings at most; the oldest listings go first. @default 50000 */
  maxAssets?: number;
}

type Listing = { at: number; assets: Promise<AdoptionCandidate[]>; count: number };

/** A file looked for among the assets of its folder. */
export interface AdoptionQuery {
  parentId: string;
  /** Its path as our stamp names it (remoteFileOf). */
  remoteFile: string;
  fileName: string;
  digest: FileDigest;
}

/**
 * Finds an asset already on the server for a path the files table does not
 * know (first run against a filled app, a lost or new state database), so it
 * is adopted instead of uploaded again.
 *
 * One listing per asset folder, cached for a while: a first run over a
 * thousand files in one folder costs one paged listing, not a thousand
 * queries. A listing can only be missing assets created after it was taken;
 * ours are in the files table by then, so the cache never causes a wrong
 * adoption, at worst a missed one.
 *
 * Bounded: after a lost state database against a filled app, listings kept
 * whole and forever were every asset of the app in memory. Listings expire,
 * the cache has caps, and each asset keeps only what matching needs.
 */
export class AdoptionIndex {
  /** In the order the listings were taken: the oldest (and so the first to expire) first. */
  readonly #listings = new Map<string, Listing>();
  #assets = 0;
  readonly #ttlMs: number;
  readonly #maxFolders: number;
  readonly #maxAssets: number;

  constructor(
    private readonly client: Pick<SquidexClient, 'findAssets'>,
    private readonly clock: Clock,
    opts: AdoptionIndexOptions = {},
  ) {
    this.#ttlMs = opts.ttlMs ?? 10 * 60_000;
    this.#maxFolders = opts.maxFolders ?? 1000;
    this.#maxAssets = opts.maxAssets ?? 50_000;
  }

  /** What the cache holds now. */
  get cached(): { folders: number; assets: number } {
    return { folders: this.#listings.size, assets: this.#assets };
  }

  /**
   * The asset that is this file, or null. Our own stamp (path, then hash)
   * wins; Squidex's fileHash with the same name is the fallback for assets
   * uploaded by other tools. `taken` rejects ids another path already owns.
   */
  async find(q: AdoptionQuery, taken: (assetId: string) => boolean): Promise<{ asset: AdoptionCandidate; sameContent: boolean } | null> {
    const { parentId, remoteFile, fileName, digest } = q;
    const assets = (await this.#listing(parentId)).filter((a) => !taken(a.id));
    const byPath = assets.filter((a) => a.stampedPath === remoteFile);
    const samePath = byPath.find((a) => a.stampedSha === digest.sha256) ?? byPath[0];
    if (samePath) return { asset: samePath, sameContent: samePath.stampedSha === digest.sha256 };

    const fileHash = squidexFileHash(hexToBase64(digest.sha256), fileName, digest.size);
    const byHash = assets.find((a) => a.fileName === fileName && (a.fileHash === fileHash || a.stampedSha === digest.sha256));
    return byHash ? { asset: byHash, sameContent: true } : null;
  }

  /**
   * Could find() match this path? False when the folder holds no asset with
   * its name or its path stamp: then no hash is needed to rule adoption out.
   */
  async mayMatch(parentId: string, remoteFile: string, fileName: string): Promise<boolean> {
    const assets = await this.#listing(parentId);
    return assets.some((a) => a.fileName === fileName || a.stampedPath === remoteFile);
  }

  /**
   * A folder we just created is empty: no listing needed. Whatever lands in it
   * later is ours and in the files table, as with any listing taken earlier.
   */
  primeEmpty(parentId: string): void {
    this.#put(parentId, { at: this.clock.now(), assets: Promise.resolve([]), count: 0 });
  }

  /** Drop a folder's listing, e.g. after we changed what is in it. */
  forget(parentId: string): void {
    const hit = this.#listings.get(parentId);
    if (!hit) return;
    this.#listings.delete(parentId);
    this.#assets -= hit.count;
  }

  #listing(parentId: string): Promise<AdoptionCandidate[]> {
    const now = this.clock.now();
    const hit = this.#listings.get(parentId);
    if (hit && now - hit.at < this.#ttlMs) return hit.assets;
    const entry: Listing = { at: now, count: 0, assets: Promise.resolve([]) };
    entry.assets = this.client.findAssets({ parentId }).then((full) => {
      const lean = full.map(candidate);
      // Counted once it is in memory, and only while it is still the cached one.
      if (this.#listings.get(parentId) === entry) {
        entry.count = lean.length;
        this.#assets += lean.length;
        this.#trim(now);
      }
      return lean;
    });
    this.#put(parentId, entry);
    // A failed listing must not stick: the next caller asks again.
    entry.assets.catch(() => {
      if (this.#listings.get(parentId) === entry) this.forget(parentId);
    });
    return entry.assets;
  }

  #put(parentId: string, entry: Listing): void {
    this.forget(parentId);
    this.#listings.set(parentId, entry);
    this.#assets += entry.count;
    this.#trim(entry.at);
  }

  /** Drops expired listings, then the oldest ones while over a cap (never the newest one). */
  #trim(now: number): void {
    for (const [id, l] of this.#listings) {
      const over = this.#listings.size > this.#maxFolders || this.#assets > this.#maxAssets;
      if (now - l.at < this.#ttlMs && !over) break;
      if (this.#listings.size === 1) break;
      this.forget(id);
    }
  }
}

function candidate(a: AssetDto): AdoptionCandidate {
  const path = a.metadata?.[META_PATH];
  const sha = a.metadata?.[META_SHA];
  return {
    id: a.id,
    parentId: a.parentId,
    fileName: a.fileName,
    fileHash: a.fileHash,
    version: a.version,
    stampedPath: typeof path === 'string' ? path : undefined,
    stampedSha: typeof sha === 'string' ? sha : undefined,
  };
}
