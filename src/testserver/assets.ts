import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { assetDto, hashEtag } from './dto.js';
import { ApiError, etag, expectedVersion, notFound, readJsonBody, sendEmpty, sendJson, validation } from './http.js';
import { parseQuery, queryAssets } from './query.js';
import { fileHashOf, type AssetRec, type Upload } from './store.js';
import { queryBool, queryValue, type ApiContext, type Route, type RouteCall } from './context.js';
import { readUpload } from './upload.js';
import { ROOT_ID } from './types.js';

const ID = '([^/]+)';

async function upload(ctx: ApiContext, call: RouteCall): Promise<Upload> {
  const up = await readUpload(call.req, ctx.limits);
  if (ctx.failsUpload?.(up.fileName)) {
    ctx.store.counters.faults++;
    throw new ApiError(500, { message: '' });
  }
  ctx.store.uploaded();
  ctx.store.counters.uploadBytes += up.size;
  return up;
}

function parentOf(call: RouteCall): string {
  return queryValue(call.query, 'parentId') || ROOT_ID;
}

function reply(
  ctx: ApiContext,
  res: ServerResponse,
  status: number,
  a: AssetRec,
  isDuplicate = false,
  extra: Record<string, string> = {},
): void {
  sendJson(res, status, assetDto(ctx.app, ctx.rootUrl, a, isDuplicate), { ...etag(a.version), ...extra });
}

/** The duplicate probe of UploadWithDuplicateCheckAsync; it runs before any other validation. */
function duplicateOf(ctx: ApiContext, call: RouteCall, up: Upload): AssetRec | undefined {
  if (queryBool(call.query, 'duplicate')) return undefined;
  return ctx.store.findDuplicate(fileHashOf(up.digest, up.fileName, up.size), up.fileName, up.size);
}

function location(ctx: ApiContext, id: string): Record<string, string> {
  return { Location: `${ctx.rootUrl}/api/apps/${ctx.app}/assets/${id}` };
}

export const assetRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/assets\/?$/,
    key: 'GET /assets',
    async handle(ctx, { res, query }) {
      const { total, items } = queryAssets(ctx.store.assets.values(), parseQuery(query));
      const base = `/api/apps/${ctx.app}/assets`;
      const body = {
        _links: {
          self: { href: base, method: 'GET' },
          create: { href: base, method: 'POST' },
          'tags/rename': { href: `${base}/tags/tag`, method: 'PUT' },
          tags: { href: `${base}/tags`, method: 'GET' },
        },
        total,
        items: items.map((a) => assetDto(ctx.app, ctx.rootUrl, a)),
      };
      sendJson(res, 200, body, hashEtag(body));
    },
  },
  {
    method: 'POST',
    pattern: /^\/assets\/?$/,
    key: 'POST /assets',
    async handle(ctx, call) {
      const up = await upload(ctx, call);
      const dup = duplicateOf(ctx, call, up);
      // A duplicate is still 201, with Location pointing at the existing asset.
      if (dup) return reply(ctx, call.res, 201, dup, true, location(ctx, dup.id));
      const custom = queryValue(call.query, 'id');
      const id = custom && custom !== ROOT_ID ? custom : randomUUID();
      const existing = ctx.store.assets.get(id);
      if (existing && !existing.deleted) throw ctx.store.conflictError(id);
      const a = ctx.store.createAsset(id, parentOf(call), up);
      reply(ctx, call.res, 201, a, false, location(ctx, a.id));
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/assets/${ID}/?$`),
    key: 'GET /assets/{id}',
    async handle(ctx, { res, params }) {
      const a = ctx.store.assets.get(params[0]);
      if (!a || a.deleted) throw notFound();
      const body = assetDto(ctx.app, ctx.rootUrl, a);
      sendJson(res, 200, body, hashEtag(body));
    },
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/assets/${ID}/?$`),
    key: 'POST /assets/{id}',
    async handle(ctx, call) {
      const up = await upload(ctx, call);
      const dup = duplicateOf(ctx, call, up);
      if (dup) return reply(ctx, call.res, 200, dup, true);
      const id = call.params[0];
      // An HTTP upsert has a non-nullable parentId: leaving it out moves an existing asset to the root.
      const parentId = parentOf(call);
      const existing = ctx.store.assets.get(id);
      if (existing && !existing.deleted) {
        ctx.store.checkVersion(id, existing.version, expectedVersion(call.req));
        if (parentId !== existing.parentId) ctx.store.mustBeValidFolder(parentId);
        ctx.store.replaceContent(existing, up);
        ctx.store.moveAsset(existing, parentId);
        return reply(ctx, call.res, 200, existing);
      }
      reply(ctx, call.res, 200, ctx.store.createAsset(id, parentId, up));
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/assets/${ID}/content/?$`),
    key: 'PUT /assets/{id}/content',
    async handle(ctx, call) {
      const up = await upload(ctx, call);
      const a = ctx.store.liveAsset(call.params[0], expectedVersion(call.req));
      ctx.store.replaceContent(a, up);
      reply(ctx, call.res, 200, a);
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/assets/${ID}/parent/?$`),
    key: 'PUT /assets/{id}/parent',
    async handle(ctx, call) {
      const body = await readJsonBody(call.req);
      const a = ctx.store.liveAsset(call.params[0], expectedVersion(call.req));
      const raw = body.parentId;
      if (raw !== undefined && typeof raw !== 'string') {
        throw validation('Expected string or object, got Null. Path: $.parentId | LineNumber: 0 | BytePositionInLine: 16.');
      }
      ctx.store.moveAsset(a, raw || ROOT_ID);
      reply(ctx, call.res, 200, a);
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/assets/${ID}/?$`),
    key: 'PUT /assets/{id}',
    async handle(ctx, call) {
      const body = await readJsonBody(call.req);
      const a = ctx.store.liveAsset(call.params[0], expectedVersion(call.req));
      if (annotate(a, body)) ctx.store.touch(a);
      reply(ctx, call.res, 200, a);
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/assets/${ID}/?$`),
    key: 'DELETE /assets/{id}',
    async handle(ctx, { req, res, params, query }) {
      const id = params[0];
      const permanent = queryBool(query, 'permanent');
      const a = ctx.store.assets.get(id);
      if (!a) throw notFound();
      if (a.deleted && !permanent) throw ctx.store.deletedError(id);
      ctx.store.checkVersion(id, a.version, expectedVersion(req));
      // DeleteCore checks referrers for soft and permanent deletes alike.
      ctx.store.checkReferrers(id, queryBool(query, 'checkReferrers'));
      if (permanent) {
        ctx.store.assets.delete(id);
        return sendEmpty(res, 204);
      }
      a.deleted = true;
      ctx.store.touch(a);
      sendEmpty(res, 204, etag(a.version));
    },
  },
];

/** Asset.Annotate: null/absent is "unchanged"; names compare case-insensitively; tags and metadata replace. True when changed. */
export function annotate(a: AssetRec, body: Record<string, unknown>): boolean {
  let changed = false;
  for (const key of ['fileName', 'slug'] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string')
      throw validation(`The JSON value could not be converted to System.String. Path: $.${key} | LineNumber: 0 | BytePositionInLine: 1.`);
    if (v.toLowerCase() !== a[key].toLowerCase()) {
      a[key] = v;
      changed = true;
    }
  }
  if (typeof body.isProtected === 'boolean' && body.isProtected !== a.isProtected) {
    a.isProtected = body.isProtected;
    changed = true;
  }
  if (body.tags !== undefined && body.tags !== null) {
    if (!Array.isArray(body.tags) || body.tags.some((t) => typeof t !== 'string'))
      throw validation(
        'The JSON value could not be converted to System.Collections.Generic.HashSet`1[System.String]. Path: $.tags | LineNumber: 0 | BytePositionInLine: 1.',
      );
    const tags = [...new Set(body.tags as string[])];
    if (tags.length !== a.tags.length || tags.some((t) => !a.tags.includes(t))) {
      a.tags = tags;
      changed = true;
    }
  }
  if (body.metadata !== undefined && body.metadata !== null) {
    if (typeof body.metadata !== 'object' || Array.isArray(body.metadata))
      throw validation(
        'The JSON value could not be converted to Squidex.Domain.Apps.Core.Assets.AssetMetadata. Path: $.metadata | LineNumber: 0 | BytePositionInLine: 1.',
      );
    if (JSON.stringify(sortKeys(body.metadata)) !== JSON.stringify(sortKeys(a.metadata))) {
      a.metadata = structuredClone(body.metadata as Record<string, unknown>);
      changed = true;
    }
  }
  return changed;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}
