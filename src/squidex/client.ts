import type { Bandwidth } from '../lib/throttle.js';
import { ApiCaller } from './call.js';
import { Connection, type SquidexClientOptions } from './connection.js';
import { SquidexError } from './errors.js';
import { send, type SendRequest, type SendResponse } from './send.js';
import type { AnnotateInput, AssetDto, BulkJob, BulkResult, FindAssetsQuery, FolderDto, UploadResult, UploadSource } from './types.js';
import { enc, odataString, toFolder } from './wire.js';

export type { SquidexClientOptions } from './connection.js';
export type { SendRequest, SendResponse } from './send.js';

/** Cap for findAssets() paging without an explicit `top`: Squidex pages are ≤ 200 items. */
const PAGE = 200;
const MAX_FIND_RESULTS = 10_000;
/**
 * Squidex skips its asset enrichment (metadata text, edit tokens, tag names) for a
 * request with this header (AssetHeaders.NoEnrichment); listings for verify read
 * only ids, parent, name, size, versions and metadata.
 */
const LEAN = { 'x-noassetenrichment': '1' };

/** The Squidex API as this tool uses it: folders and assets (the wire in connection.ts, call.ts, send.ts). */
export class SquidexClient {
  private readonly conn: Connection;
  private readonly api: ApiCaller;
  /** The cap shared by every upload of this client (tus.ts sends its chunks through it too). */
  readonly bandwidth: Bandwidth | undefined;

  constructor(opts: SquidexClientOptions) {
    this.conn = new Connection(opts);
    this.api = new ApiCaller(this.conn);
    this.bandwidth = this.conn.bandwidth;
  }

  token(): Promise<string> {
    return this.conn.tokens.get().catch((e) => Promise.reject(this.conn.scrub(e)));
  }

  /** Drops the cached token and asks for a new one (after a laptop slept, the old one may have lapsed). */
  refreshToken(): Promise<string> {
    this.conn.tokens.forget();
    return this.token();
  }

  /**
   * Ends the connections and cuts any request still on the wire. Callers have had
   * what they wait for by now; what is left belongs to nobody who waits (a stamp past
   * the stop's drain, a probe), and undici's graceful close would wait for it up to
   * its own timeout, a minute or more, when the server reads and never answers (and a
   * destroy after a close does not cut it). What such a request carried is still in
   * the state database for the next start.
   */
  async close(): Promise<void> {
    await this.conn.agent.destroy(new SquidexError('STOPPING', 'squidex-sync is stopping', { retry: 'retry' })).catch(() => undefined);
  }

  // ---- folders -------------------------------------------------------------------------------

  /** Children of `parentId` in server order (by name); without it, every folder of the app. */
  async listFolders(parentId?: string, opts: { signal?: AbortSignal } = {}): Promise<FolderDto[]> {
    const r = await this.api.call('GET', '/assets/folders', {
      query: { parentId },
      signal: opts.signal,
      ctx: { operation: 'list folders' },
    });
    return ((r.body as { items?: FolderDto[] }).items ?? []).map(toFolder);
  }

  async createFolder(name: string, parentId: string): Promise<FolderDto> {
    const r = await this.api.call('POST', '/assets/folders', {
      json: { folderName: name, parentId },
      ctx: { operation: `create folder "${name}"` },
    });
    return toFolder(r.body as FolderDto);
  }

  async renameFolder(id: string, name: string, opts: { signal?: AbortSignal } = {}): Promise<FolderDto> {
    const r = await this.api.call('PUT', `/assets/folders/${enc(id)}`, {
      json: { folderName: name },
      signal: opts.signal,
      ctx: { operation: `rename folder to "${name}"` },
    });
    return toFolder(r.body as FolderDto);
  }

  async moveFolder(id: string, parentId: string, opts: { signal?: AbortSignal } = {}): Promise<FolderDto> {
    const r = await this.api.call('PUT', `/assets/folders/${enc(id)}/parent`, {
      json: { parentId },
      signal: opts.signal,
      ctx: { operation: 'move folder' },
    });
    return toFolder(r.body as FolderDto);
  }

  async deleteFolder(id: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.api.call('DELETE', `/assets/folders/${enc(id)}`, { signal: opts.signal, ctx: { operation: 'delete folder' } });
  }

  // ---- assets --------------------------------------------------------------------------------

  /**
   * Create-or-replace under a client-chosen id. `duplicate=true` so Squidex never answers with
   * some other asset; parentId always, because an upsert without it moves the asset to the root.
   */
  async upsertAsset(id: string, parentId: string, src: UploadSource, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const r = await this.api.call('POST', `/assets/${enc(id)}`, {
      query: { parentId, duplicate: true },
      upload: src,
      signal: opts.signal,
      ctx: { operation: 'upload', fileName: src.fileName },
    });
    const asset = r.body as AssetDto;
    if (asset?.id !== id) {
      // With duplicate=true Squidex acts on our id; another id means the server did not, and
      // recording it would tie the file to someone else's asset.
      throw new SquidexError(
        'UNEXPECTED_RESPONSE',
        `Upload of "${src.fileName}": Squidex answered with asset "${asset?.id}" instead of "${id}".`,
        {
          retry: 'never',
          status: r.status,
        },
      );
    }
    return { asset, sha256: r.sent!.sha256, bytes: r.sent!.bytes };
  }

  async replaceContent(id: string, src: UploadSource, opts: { signal?: AbortSignal } = {}): Promise<UploadResult> {
    const r = await this.api.call('PUT', `/assets/${enc(id)}/content`, {
      upload: src,
      signal: opts.signal,
      ctx: { operation: 'replace content', fileName: src.fileName },
    });
    return { asset: r.body as AssetDto, sha256: r.sent!.sha256, bytes: r.sent!.bytes };
  }

  /** With `expectedVersion`, a change made on the server meanwhile makes this a 412 (VERSION_CONFLICT), not a lost edit. */
  async annotate(id: string, input: AnnotateInput, opts: { expectedVersion?: number; signal?: AbortSignal } = {}): Promise<AssetDto> {
    const r = await this.api.call('PUT', `/assets/${enc(id)}`, {
      json: input,
      ifMatch: opts.expectedVersion,
      signal: opts.signal,
      ctx: { operation: 'annotate', fileName: input.fileName },
    });
    return r.body as AssetDto;
  }

  /**
   * Many Annotate/Move/Delete jobs in one request. The request succeeds as a
   * whole (or throws like any call); each job's own failure is in its result.
   */
  async bulk(jobs: readonly BulkJob[]): Promise<BulkResult[]> {
    // Referrers checked for every Delete job, as for single deletes: an asset content still uses is refused, never removed.
    const r = await this.api.call('POST', '/assets/bulk', { json: { jobs, checkReferrers: true }, ctx: { operation: 'bulk update' } });
    if (!Array.isArray(r.body)) {
      throw new SquidexError('UNEXPECTED_RESPONSE', 'Squidex answered a bulk update without a list of results.', {
        retry: 'retry',
        status: r.status,
      });
    }
    return r.body as BulkResult[];
  }

  async moveAsset(id: string, parentId: string, opts: { signal?: AbortSignal } = {}): Promise<AssetDto> {
    const r = await this.api.call('PUT', `/assets/${enc(id)}/parent`, {
      json: { parentId },
      signal: opts.signal,
      ctx: { operation: 'move asset' },
    });
    return r.body as AssetDto;
  }

  /**
   * Always with `checkReferrers=true`: an asset that content still uses is refused with a 400
   * whose errorCode is OBJECT_REFERENCED (see isReferencedError), permanent deletes too.
   */
  async deleteAsset(id: string, opts: { permanent?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.api.call('DELETE', `/assets/${enc(id)}`, {
      query: { checkReferrers: true, permanent: opts.permanent ?? false },
      signal: opts.signal,
      ctx: { operation: 'delete asset' },
    });
  }

  async getAsset(id: string, opts: { signal?: AbortSignal } = {}): Promise<AssetDto | null> {
    try {
      return (await this.api.call('GET', `/assets/${enc(id)}`, { signal: opts.signal, ctx: { operation: 'get asset' } })).body as AssetDto;
    } catch (e) {
      if (e instanceof SquidexError && e.status === 404) return null;
      throw e;
    }
  }

  /**
   * OData query. With `top`, one page; without, pages of 200 until a short page,
   * a page with no id not seen before (a proxy that drops `$skip` answers the first
   * page again and again), or MAX_FIND_RESULTS (ids de-duplicated, since rows can
   * shift between pages).
   */
  async findAssets(q: FindAssetsQuery, opts: { signal?: AbortSignal } = {}): Promise<AssetDto[]> {
    const clauses: string[] = [];
    if (q.fileHash !== undefined) clauses.push(`fileHash eq ${odataString(q.fileHash)}`);
    if (q.fileName !== undefined) clauses.push(`fileName eq ${odataString(q.fileName)}`);
    for (const [key, value] of Object.entries(q.metadata ?? {})) {
      if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new SquidexError('INVALID_ARGUMENT', `Metadata key "${key}" cannot be used in a filter.`);
      clauses.push(`metadata/${key} eq ${odataString(value)}`);
    }
    const filter = clauses.length ? clauses.join(' and ') : undefined;
    const fetchPage = async (top: number, skip: number): Promise<AssetDto[]> => {
      const r = await this.api.call('GET', '/assets', {
        query: { parentId: q.parentId, $filter: filter, $top: top, $skip: skip || undefined },
        signal: opts.signal,
        ctx: { operation: 'find assets' },
      });
      return (r.body as { items?: AssetDto[] }).items ?? [];
    };
    if (q.top !== undefined) return fetchPage(q.top, q.skip ?? 0);
    const byId = new Map<string, AssetDto>();
    for (let skip = q.skip ?? 0; byId.size < MAX_FIND_RESULTS; skip += PAGE) {
      const page = await fetchPage(PAGE, skip);
      const before = byId.size;
      for (const a of page) byId.set(a.id, a);
      if (page.length < PAGE || byId.size === before) break;
    }
    return [...byId.values()];
  }

  /**
   * One page (up to 200) of the assets directly in a folder, with the server's
   * total for the folder (-1 when it sent none), so a caller knows whether
   * another page is worth asking for.
   */
  async listFolderAssets(
    parentId: string,
    skip: number,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ items: AssetDto[]; total: number }> {
    const r = await this.api.call('GET', '/assets', {
      query: { parentId, $top: PAGE, $skip: skip || undefined },
      headers: LEAN,
      signal: opts.signal,
      ctx: { operation: 'list assets' },
    });
    const body = r.body as { items?: AssetDto[]; total?: unknown };
    return { items: body.items ?? [], total: typeof body.total === 'number' ? body.total : -1 };
  }

  /** The live assets among `ids`, wherever they are; deleted and unknown ids are left out. */
  async getAssetsByIds(ids: readonly string[], opts: { signal?: AbortSignal } = {}): Promise<AssetDto[]> {
    if (ids.length === 0) return [];
    const r = await this.api.call('GET', '/assets', {
      query: { ids: ids.join(',') },
      headers: LEAN,
      signal: opts.signal,
      ctx: { operation: 'get assets by id' },
    });
    return (r.body as { items?: AssetDto[] }).items ?? [];
  }

  /**
   * One request whose answer the caller reads itself (the tus protocol in
   * tus.ts); see send.ts.
   */
  send(req: SendRequest): Promise<SendResponse> {
    return send(this.conn, req);
  }

  /** The absolute URL of a path below `/api/apps/{app}`. */
  apiUrl(path: string): string {
    return this.conn.apiUrl(path);
  }
}
