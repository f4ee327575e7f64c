import { ROOT_FOLDER_ID, type AssetDto, type FolderDto, type SquidexClient } from '../squidex/index.js';

/** What verify asks the server: the folder tree, a folder's assets page by page, assets by id. */
export type ListingApi = Pick<SquidexClient, 'listFolders' | 'listFolderAssets' | 'getAssetsByIds'>;

/** Squidex answers at most 200 assets a page. */
const PAGE = 200;
/** Ids per by-id request: 100 ids keep the URL under 4 KB. */
const IDS_PER_REQUEST = 100;
/** Bounds a folder's paging when a server keeps answering full pages. */
const MAX_PAGES_PER_FOLDER = 10_000;

/**
 * The app's asset folders as the server has them now, from one request
 * (`GET /assets/folders` without parentId lists every folder of the app).
 */
export class FolderTree {
  readonly #byId = new Map<string, FolderDto>();
  readonly #children = new Map<string, FolderDto[]>();

  constructor(folders: readonly FolderDto[]) {
    for (const f of folders) {
      this.#byId.set(f.id, f);
      const siblings = this.#children.get(f.parentId) ?? [];
      siblings.push(f);
      this.#children.set(f.parentId, siblings);
    }
  }

  static async read(api: ListingApi, signal?: AbortSignal): Promise<FolderTree> {
    return new FolderTree(await api.listFolders(undefined, { signal }));
  }

  /** 'A/B' of a folder id ('' for the root), or undefined when the folder does not exist. */
  pathOf(id: string): string | undefined {
    const parts: string[] = [];
    let cur = id;
    for (let depth = 0; cur !== ROOT_FOLDER_ID; depth++) {
      const f = this.#byId.get(cur);
      if (!f || depth > 1000) return undefined;
      parts.unshift(f.folderName);
      cur = f.parentId;
    }
    return parts.join('/');
  }

  /**
   * The folder at `path`: `preferred` (our cached id) when it is there, else the
   * first of that name at each level in server order, as the resolver picks.
   */
  idAt(path: string, preferred?: string): string | undefined {
    if (path === '') return ROOT_FOLDER_ID;
    if (preferred !== undefined && this.pathOf(preferred) === path) return preferred;
    let cur = ROOT_FOLDER_ID;
    for (const name of path.split('/')) {
      const next = this.#children.get(cur)?.find((f) => f.folderName === name);
      if (!next) return undefined;
      cur = next.id;
    }
    return cur;
  }

  /** The folder and every folder below it. */
  subtree(id: string): string[] {
    const out = [id];
    for (let i = 0; i < out.length; i++) for (const c of this.#children.get(out[i]) ?? []) out.push(c.id);
    return out;
  }

  /** Is `id` the folder `rootId` or inside it? */
  within(id: string, rootId: string): boolean {
    let cur = id;
    for (let depth = 0; depth <= 1000; depth++) {
      if (cur === rootId) return true;
      if (cur === ROOT_FOLDER_ID) return false;
      const f = this.#byId.get(cur);
      if (!f) return false;
      cur = f.parentId;
    }
    return false;
  }
}

export interface ListOptions {
  /** Awaited before every request: the daemon waits there while uploads run. */
  pace?: () => Promise<void>;
  signal?: AbortSignal;
}

/**
 * Every asset directly in these folders: per folder, pages of 200 until the
 * server's total is reached or a page comes back short (or brings nothing new), so a folder costs one
 * request per 200 assets and at least one. Pages are sorted by last change,
 * so an asset changed meanwhile can be missed or seen twice: ids are
 * de-duplicated here, and callers look up by id what they expected and did not
 * find.
 */
export async function listAssets(api: ListingApi, folderIds: readonly string[], opts: ListOptions = {}): Promise<Map<string, AssetDto>> {
  const byId = new Map<string, AssetDto>();
  for (const folder of folderIds) {
    for (let page = 0, skip = 0; page < MAX_PAGES_PER_FOLDER; page++, skip += PAGE) {
      await step(opts);
      const { items, total } = await api.listFolderAssets(folder, skip, { signal: opts.signal });
      const before = byId.size;
      for (const a of items) byId.set(a.id, a);
      // A page with nothing new: a proxy that drops $skip answers the first page again and again.
      if (items.length < PAGE || (total >= 0 && skip + PAGE >= total) || byId.size === before) break;
    }
  }
  return byId;
}

/** The live assets among `ids`, 100 per request. */
export async function assetsById(api: ListingApi, ids: readonly string[], opts: ListOptions = {}): Promise<Map<string, AssetDto>> {
  const out = new Map<string, AssetDto>();
  for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) {
    await step(opts);
    for (const a of await api.getAssetsByIds(ids.slice(i, i + IDS_PER_REQUEST), { signal: opts.signal })) out.set(a.id, a);
  }
  return out;
}

async function step(opts: ListOptions): Promise<void> {
  opts.signal?.throwIfAborted();
  await opts.pace?.();
  opts.signal?.throwIfAborted();
}
