import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assetDto } from './dto.js';
import { ApiError, errorDto, etag, sendEmpty, sendJson } from './http.js';
import type { ApiContext, Route, RouteCall } from './context.js';
import type { AssetRec, Store, Upload } from './store.js';
import { fileHashOf } from './store.js';
import type { TusUpload } from './tusstore.js';
import { ROOT_ID } from './types.js';

/**
 * Squidex's tus endpoint (reference/squidex-api.md §8): tusdotnet 1.0.0 on
 * `/api/apps/{app}/assets/tus/{**fileId}`, every method, the per-request size
 * limit of the other asset routes, and on the PATCH that completes a file the
 * same upsert as `POST /assets/{id}`, answered 201 with the asset. Chunks are
 * dropped on assembly, so the upload answers 404 afterwards.
 */

export const TUS_VERSION = '1.0.0';
const EXTENSIONS = 'creation,creation-defer-length,termination,expiration';

/** Headers tusdotnet puts on every answer. */
function tusHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'Tus-Resumable': TUS_VERSION, ...extra };
}

/** tusdotnet's own refusals carry the tus headers (their text bodies are sent here as `{message}`). */
function tusError(status: number, message: string, extra: Record<string, string> = {}): ApiError {
  return new ApiError(status, { raw: { message } }, tusHeaders(extra));
}

function expires(u: TusUpload): string {
  return new Date(u.expiresAt).toUTCString();
}

/** `key base64,key base64`: keys case-insensitive (AssetTusFile), values base64 of UTF-8. */
export function parseMetadata(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  if (raw.trim() === '') return out;
  for (const pair of raw.split(',')) {
    const [key, value, ...rest] = pair.trim().split(' ');
    if (!key || rest.length > 0 || (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))) {
      throw tusError(
        400,
        'Header Upload-Metadata: The Upload-Metadata request and response header must consist of one or more comma-separated key-value pairs.',
      );
    }
    out.set(key.toLowerCase(), value === undefined ? '' : Buffer.from(value, 'base64').toString('utf8'));
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** 412 for a request without `Tus-Resumable: 1.0.0` (OPTIONS excepted), as the protocol demands. */
function requireVersion(req: IncomingMessage): void {
  if (header(req, 'tus-resumable') !== TUS_VERSION) {
    throw new ApiError(412, { raw: { message: `Tus-Resumable must be ${TUS_VERSION}.` } }, { 'Tus-Version': TUS_VERSION });
  }
}

function uploadOf(ctx: ApiContext, id: string): TusUpload {
  const u = ctx.tus.live(id);
  if (!u) throw tusError(404, '');
  return u;
}

const BASE = '/assets/tus';
const FILE = /^\/assets\/tus\/(.+)$/;

function route(method: string, pattern: RegExp, key: string, handle: (ctx: ApiContext, call: RouteCall) => Promise<void>): Route {
  return { method, pattern, key, handle };
}

/** Matched before the asset routes: `POST /assets/tus` would otherwise be an upsert of an asset named "tus". */
export const tusRoutes: Route[] = [
  route('OPTIONS', /^\/assets\/tus\/?$/, `OPTIONS ${BASE}`, async (_ctx, { res }) => {
    sendEmpty(res, 204, tusHeaders({ 'Tus-Version': TUS_VERSION, 'Tus-Extension': EXTENSIONS }));
  }),
  route('POST', /^\/assets\/tus\/?$/, `POST ${BASE}`, async (ctx, { req, res }) => {
    requireVersion(req);
    const lengthHeader = header(req, 'upload-length');
    const length = Number(lengthHeader);
    if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader) || !Number.isSafeInteger(length)) {
      throw tusError(400, 'Header Upload-Length must be a non-negative integer.');
    }
    const rawMetadata = header(req, 'upload-metadata') ?? '';
    const metadata = parseMetadata(rawMetadata);
    const id = randomUUID().replace(/-/g, '');
    const u: TusUpload = {
      id,
      length,
      offset: 0,
      rawMetadata,
      metadata,
      hash: createHash('sha256'),
      chunks: ctx.limits.keepBytes ? [] : null,
      expiresAt: Date.now() + ctx.tus.switches.expiryMs,
    };
    ctx.tus.uploads.set(id, u);
    // Squidex hands tusdotnet the action's own URL, a path: the Location is relative.
    sendEmpty(res, 201, tusHeaders({ Location: `/api/apps/${ctx.app}${BASE}/${id}`, 'Upload-Expires': expires(u) }));
  }),
  route('HEAD', FILE, `HEAD ${BASE}/{fileId}`, async (ctx, { req, res, params }) => {
    requireVersion(req);
    const u = uploadOf(ctx, params[0]);
    const extra: Record<string, string> = {
      'Upload-Offset': String(u.offset),
      'Upload-Length': String(u.length),
      'Cache-Control': 'no-store',
    };
    if (u.rawMetadata) extra['Upload-Metadata'] = u.rawMetadata;
    sendEmpty(res, 200, tusHeaders(extra));
  }),
  route('PATCH', FILE, `PATCH ${BASE}/{fileId}`, async (ctx, call) => patch(ctx, call)),
  route('DELETE', FILE, `DELETE ${BASE}/{fileId}`, async (ctx, { req, res, params }) => {
    requireVersion(req);
    uploadOf(ctx, params[0]);
    ctx.tus.uploads.delete(params[0]);
    sendEmpty(res, 204, tusHeaders());
  }),
];

async function patch(ctx: ApiContext, { req, res, params }: RouteCall): Promise<void> {
  requireVersion(req);
  const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/offset+octet-stream') throw tusError(415, 'Content-Type application/offset+octet-stream is required.');
  const u = uploadOf(ctx, params[0]);
  const offsetHeader = header(req, 'upload-offset');
  if (offsetHeader === undefined || !/^\d+$/.test(offsetHeader))
    throw tusError(400, 'Header Upload-Offset must be a non-negative integer.');
  if (Number(offsetHeader) !== u.offset) {
    throw tusError(409, `Offset does not match file. File offset: ${u.offset}. Request offset: ${offsetHeader}.`);
  }
  // The route's [AssetRequestSizeLimit], as Kestrel applies it: a declared length is refused before a byte is read.
  const max = ctx.limits.maxUploadBytes;
  const declared = Number(header(req, 'content-length') ?? NaN);
  if (declared > max) throw tooLargeRequest(max);
  if (declared > u.length - u.offset) throw tusError(400, "Request contains more data than the file's upload length.");

  // tusdotnet writes as it reads: bytes of a request that breaks off stay, and HEAD reports them.
  const cutAt = ctx.tus.switches.cutPatches > 0 && declared > 1 ? Math.floor(declared / 2) : Infinity;
  if (cutAt !== Infinity) ctx.tus.switches.cutPatches--;
  const outcome = await new Promise<'end' | 'broken' | ApiError>((resolve) => {
    let received = 0;
    const onData = (chunk: Buffer): void => {
      if (received + chunk.length > cutAt) {
        chunk = chunk.subarray(0, cutAt - received);
        req.socket.destroy();
      }
      received += chunk.length;
      if (received > max) {
        stop(tooLargeRequest(max));
        return;
      }
      if (u.offset + chunk.length > u.length) {
        stop(tusError(400, "Request contains more data than the file's upload length."));
        return;
      }
      u.hash.update(chunk);
      u.chunks?.push(Buffer.from(chunk));
      u.offset += chunk.length;
      ctx.store.counters.uploadBytes += chunk.length;
      ctx.store.counters.tusBytes += chunk.length;
    };
    const stop = (r: 'end' | 'broken' | ApiError): void => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('close', onClose);
      resolve(r);
    };
    const onEnd = (): void => stop('end');
    const onClose = (): void => stop(req.complete ? 'end' : 'broken');
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
  });
  u.expiresAt = Date.now() + ctx.tus.switches.expiryMs;
  if (outcome instanceof ApiError) throw outcome;
  if (outcome === 'broken') return;
  if (u.offset < u.length) {
    sendEmpty(res, 204, tusHeaders({ 'Upload-Offset': String(u.offset), 'Upload-Expires': expires(u) }));
    return;
  }
  complete(ctx, u, res);
}

function tooLargeRequest(max: number): ApiError {
  return new ApiError(413, { message: `Request body too large. The max request body size is ${max} bytes.` }, tusHeaders());
}

/**
 * The file is whole: assemble it (the chunks are gone from then on, whatever
 * the upsert says), then UpsertAssetDto.ToCommand(file): our id or a new
 * one, Duplicate true unless the metadata says false, ParentId only when given.
 */
function complete(ctx: ApiContext, u: TusUpload, res: ServerResponse): void {
  ctx.tus.uploads.delete(u.id);
  const m = u.metadata;
  const up: Upload = {
    fileName: m.get('filename') || 'Unknown.blob',
    mimeType: m.get('mimetype') || m.get('filetype') || 'application/octet-stream',
    size: u.length,
    digest: u.hash.digest(),
    bytes: u.chunks ? Buffer.concat(u.chunks) : null,
  };
  ctx.store.uploaded();
  const duplicate = (m.get('duplicate') ?? 'true').toLowerCase() !== 'false';
  const parentId = m.has('parentid') ? m.get('parentid') || ROOT_ID : undefined;
  const asset = upsert(ctx.store, m.get('id') || randomUUID(), parentId, up, duplicate);
  const sw = ctx.tus.switches;
  if (sw.loseFinalAnswers > 0) {
    sw.loseFinalAnswers--;
    res.socket?.destroy();
    return;
  }
  if (sw.failFinalAnswers > 0) {
    sw.failFinalAnswers--;
    sendJson(res, 500, errorDto(500, { message: '' }), tusHeaders());
    return;
  }
  sendJson(res, 201, assetDto(ctx.app, ctx.rootUrl, asset.rec, asset.duplicate), {
    ...tusHeaders(),
    ...etag(asset.rec.version),
    Location: `/api/apps/${ctx.app}/assets/${asset.rec.id}`,
  });
}

/** AssetDomainObject's UpsertAsset, with tus's nullable ParentId: no parent given, no move. */
function upsert(
  store: Store,
  id: string,
  parentId: string | undefined,
  up: Upload,
  duplicate: boolean,
): { rec: AssetRec; duplicate: boolean } {
  if (!duplicate) {
    const dup = store.findDuplicate(fileHashOf(up.digest, up.fileName, up.size), up.fileName, up.size);
    if (dup) return { rec: dup, duplicate: true };
  }
  const existing = store.assets.get(id);
  if (existing && !existing.deleted) {
    if (parentId !== undefined && parentId !== existing.parentId) store.mustBeValidFolder(parentId);
    store.replaceContent(existing, up);
    if (parentId !== undefined) store.moveAsset(existing, parentId);
    return { rec: existing, duplicate: false };
  }
  return { rec: store.createAsset(id, parentId ?? ROOT_ID, up), duplicate: false };
}
