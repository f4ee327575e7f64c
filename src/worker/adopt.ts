import type { Clock } from '../lib/clock.js';
import type { AssetDto, SquidexClient } from '../squidex/index.js';
import { squidexFileHash } from '../squidex/index.js';
import { hexToBase64, type FileDigest } from './hash.js';
import { META_PATH, META_SHA } from './mapping.js';

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
 */
export class AdoptionIndex {
  readonly #listings = new Map<string, { at: number; assets: Promise<AssetDto[]> }>();

  constructor(
    private readonly client: SquidexClient,
    private readonly clock: Clock,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  /**
   * The asset that is this file, or null. Our own stamp (path, then hash)
   * wins; Squidex's fileHash with the same name is the fallback for assets
   * uploaded by other tools. `taken` rejects ids another path already owns.
   */
  async find(
    parentId: string,
    remoteFile: string,
    fileName: string,
    digest: FileDigest,
    taken: (assetId: string) => boolean,
  ): Promise<{ asset: AssetDto; sameContent: boolean } | null> {
    const assets = (await this.#listing(parentId)).filter((a) => !taken(a.id));
    const byPath = assets.filter((a) => a.metadata?.[META_PATH] === remoteFile);
    const samePath = byPath.find((a) => a.metadata?.[META_SHA] === digest.sha256) ?? byPath[0];
    if (samePath) return { asset: samePath, sameContent: samePath.metadata?.[META_SHA] === digest.sha256 };

    const fileHash = squidexFileHash(hexToBase64(digest.sha256), fileName, digest.size);
    const byHash = assets.find(
      (a) => a.fileName === fileName && (a.fileHash === fileHash || a.metadata?.[META_SHA] === digest.sha256),
    );
    return byHash ? { asset: byHash, sameContent: true } : null;
  }

  /**
   * Could find() match this path? False when the folder holds no asset with
   * its name or its path stamp: then no hash is needed to rule adoption out.
   */
  async mayMatch(parentId: string, remoteFile: string, fileName: string): Promise<boolean> {
    const assets = await this.#listing(parentId);
    return assets.some((a) => a.fileName === fileName || a.metadata?.[META_PATH] === remoteFile);
  }

  /**
   * A folder we just created is empty: no listing needed. Whatever lands in it
   * later is ours and in the files table, as with any listing taken earlier.
   */
  primeEmpty(parentId: string): void {
    this.#listings.set(parentId, { at: this.clock.now(), assets: Promise.resolve([]) });
  }

  /** Drop a folder's listing, e.g. after we changed what is in it. */
  forget(parentId: string): void {
    this.#listings.delete(parentId);
  }

  #listing(parentId: string): Promise<AssetDto[]> {
    const now = this.clock.now();
    const hit = this.#listings.get(parentId);
    if (hit && now - hit.at < this.ttlMs) return hit.assets;
    const assets = this.client.findAssets({ parentId });
    this.#listings.set(parentId, { at: now, assets });
    // A failed listing must not stick: the next caller asks again.
    assets.catch(() => this.#listings.delete(parentId));
    return assets;
  }
}
