import { SquidexError } from './errors.js';
import { ROOT_FOLDER_ID, type FolderCache, type FolderDto } from './types.js';

/** The part of SquidexClient the resolver needs (tests may pass a double). */
export interface FolderApi {
  listFolders(parentId?: string): Promise<FolderDto[]>;
  createFolder(name: string, parentId: string): Promise<FolderDto>;
}

/** "/A//B/" → "A/B". Names are case-sensitive and never trimmed (Squidex does not trim them either). */
export function normalizeRemotePath(remotePath: string): string {
  return remotePath
    .split('/')
    .filter((s) => s !== '')
    .join('/');
}

/**
 * Remote folder path → asset folder id, creating missing folders parent-first.
 *
 * Squidex allows several folders with the same name under one parent, so two
 * workers that both create "2026" would leave a visible duplicate. Every path
 * prefix therefore resolves single-flight: concurrent resolve() calls for the
 * same path, or for paths sharing a prefix, wait on one promise per prefix and
 * each missing folder is created once (per process).
 */
export class FolderResolver {
  private readonly inflight = new Map<string, Promise<string>>();
  /**
   * Paths this resolver has read or written in the cache. FolderCache cannot be
   * enumerated, so invalidate() drops descendants it knows about; an older entry it
   * never touched is dropped when its own use fails with FOLDER_NOT_FOUND.
   */
  private readonly known = new Set<string>();

  /**
   * Ids of folders this resolver created. A folder made a moment ago has no
   * children but the ones we create (single-flight, cached), so listing it
   * again is a round trip for nothing: a first sync of a deep tree would pay
   * one per folder.
   */
  private readonly created = new Set<string>();

  /** Listings a caller has just made for its own reasons (the app check lists the root): used once, instead of asking again. */
  private readonly offered = new Map<string, FolderDto[]>();

  constructor(
    private readonly client: FolderApi,
    private readonly cache: FolderCache,
    /** onCreated: a folder was just created, so it is empty (the adoption index need not list it). */
    private readonly hooks: { onCreated?(id: string): void } = {},
  ) {}

  async resolve(remotePath: string): Promise<string> {
    const hit = this.cachedId(remotePath);
    if (hit !== undefined) return hit;
    const path = normalizeRemotePath(remotePath);
    let p = this.inflight.get(path);
    if (!p) {
      p = this.lookupOrCreate(path).finally(() => this.inflight.delete(path));
      this.inflight.set(path, p);
    }
    return p;
  }

  /** resolve() when it needs no request: the id of a folder already known, else undefined (without a promise to wait for). */
  cachedId(remotePath: string): string | undefined {
    const path = normalizeRemotePath(remotePath);
    if (path === '') return ROOT_FOLDER_ID;
    const cached = this.cache.get(path);
    if (cached !== undefined) this.known.add(path);
    return cached;
  }

  /**
   * The children of `parentId` as listed a moment ago: the next lookup under it takes them in
   * place of a listing of its own, once. Returns a withdrawal for an answer that may grow stale
   * unused (a daemon's later lookups list afresh).
   */
  offer(parentId: string, children: FolderDto[]): () => void {
    this.offered.set(parentId, children);
    return () => {
      if (this.offered.get(parentId) === children) this.offered.delete(parentId);
    };
  }

  /** Drops `remotePath` and its descendants, e.g. after the server said the folder no longer exists. */
  invalidate(remotePath: string): void {
    const path = normalizeRemotePath(remotePath);
    if (path === '') {
      for (const k of this.known) this.cache.delete(k);
      this.known.clear();
      return;
    }
    this.cache.delete(path);
    this.known.delete(path);
    for (const k of [...this.known]) {
      if (k.startsWith(`${path}/`)) {
        this.cache.delete(k);
        this.known.delete(k);
      }
    }
  }

  private async lookupOrCreate(path: string, retried = false): Promise<string> {
    const slash = path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : path.slice(0, slash);
    const name = slash < 0 ? path : path.slice(slash + 1);
    const parentId = await this.resolve(parentPath);
    try {
      const children = this.created.has(parentId) ? [] : (this.takeOffered(parentId) ?? (await this.client.listFolders(parentId)));
      // Several folders may share a name; take the first in server order (Squidex sorts by
      // name, then storage order), as the Squidex CLI does, so every run picks the same one.
      const found = children.find((f) => f.folderName === name);
      const id = found ? found.id : await this.create(name, parentId);
      this.remember(path, id);
      // Siblings came for free with the listing; caching them saves a request per sibling later.
      const seen = new Set<string>([name]);
      for (const f of children) {
        if (seen.has(f.folderName) || f.folderName.includes('/') || f.folderName === '') continue;
        seen.add(f.folderName);
        const sibling = parentPath ? `${parentPath}/${f.folderName}` : f.folderName;
        if (this.cache.get(sibling) === undefined) this.remember(sibling, f.id);
      }
      return id;
    } catch (e) {
      // The cached parent was deleted on the server (listing an unknown folder is an empty 200,
      // so this shows up on create): forget it and build the chain again, once.
      if (!retried && parentPath !== '' && e instanceof SquidexError && e.code === 'FOLDER_NOT_FOUND') {
        this.invalidate(parentPath);
        return this.lookupOrCreate(path, true);
      }
      throw e;
    }
  }

  private takeOffered(parentId: string): FolderDto[] | undefined {
    const children = this.offered.get(parentId);
    this.offered.delete(parentId);
    return children;
  }

  private async create(name: string, parentId: string): Promise<string> {
    let id: string;
    try {
      ({ id } = await this.client.createFolder(name, parentId));
    } catch (e) {
      // The server may have made it and lost only the answer (a reset, a timeout):
      // the parent is listed before the next try, or that try makes a second one.
      this.created.delete(parentId);
      throw e;
    }
    this.created.add(id);
    this.hooks.onCreated?.(id);
    return id;
  }

  private remember(path: string, id: string): void {
    this.cache.set(path, id);
    this.known.add(path);
  }
}
