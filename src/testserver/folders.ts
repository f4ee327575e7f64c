import { folderDto, hashEtag } from './dto.js';
import { etag, expectedVersion, readJsonBody, sendEmpty, sendJson, validation } from './http.js';
import { queryValue, type ApiContext, type Route } from './context.js';
import { ROOT_ID } from './types.js';

const ID = '([^/]+)';

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw validation(`The JSON value could not be converted to System.String. Path: $.${name} | LineNumber: 0 | BytePositionInLine: 1.`);
  }
  return v;
}

/** A DomainId body field: omitted means the root (non-nullable DomainId), "" too. */
function parentField(body: Record<string, unknown>): string {
  const v = stringField(body, 'parentId');
  return v === undefined || v === '' ? ROOT_ID : v;
}

export const folderRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/assets\/folders\/?$/,
    key: 'GET /assets/folders',
    async handle(ctx: ApiContext, { res, query }) {
      const parentId = queryValue(query, 'parentId') || undefined;
      const scope = (queryValue(query, 'scope') ?? 'PathAndItems').toLowerCase();
      const withItems = scope !== 'path';
      const withPath = scope !== 'items';
      const items = withItems
        ? [...ctx.store.folders.values()]
            .filter((f) => !f.deleted && (parentId === undefined || f.parentId === parentId))
            .sort((a, b) => (a.folderName < b.folderName ? -1 : a.folderName > b.folderName ? 1 : 0))
        : [];
      const path = withPath && parentId && parentId !== ROOT_ID ? ctx.store.pathOf(parentId) : [];
      const body = {
        _links: {
          self: { href: `/api/apps/${ctx.app}/assets/folders`, method: 'GET' },
          create: { href: `/api/apps/${ctx.app}/assets/folders`, method: 'POST' },
        },
        total: items.length,
        items: items.map((f) => folderDto(ctx.app, f)),
        path: path.map((f) => folderDto(ctx.app, f)),
      };
      sendJson(res, 200, body, hashEtag(body));
    },
  },
  {
    method: 'POST',
    pattern: /^\/assets\/folders\/?$/,
    key: 'POST /assets/folders',
    async handle(ctx, { req, res }) {
      const body = await readJsonBody(req);
      const f = ctx.store.createFolder(stringField(body, 'folderName') ?? '', parentField(body));
      sendJson(res, 201, folderDto(ctx.app, f), {
        ...etag(f.version),
        Location: `${ctx.rootUrl}/api/apps/${ctx.app}/assets/folders?parentId=${f.parentId}`,
      });
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/assets/folders/${ID}/parent/?$`),
    key: 'PUT /assets/folders/{id}/parent',
    async handle(ctx, { req, res, params }) {
      const body = await readJsonBody(req);
      const f = ctx.store.liveFolder(params[0], expectedVersion(req));
      ctx.store.moveFolder(f, parentField(body));
      sendJson(res, 200, folderDto(ctx.app, f), etag(f.version));
    },
  },
  {
    method: 'PUT',
    pattern: new RegExp(`^/assets/folders/${ID}/?$`),
    key: 'PUT /assets/folders/{id}',
    async handle(ctx, { req, res, params }) {
      const body = await readJsonBody(req);
      const f = ctx.store.liveFolder(params[0], expectedVersion(req));
      const name = stringField(body, 'folderName') ?? '';
      if (!name.trim()) throw validation('FolderName: Folder name is required.');
      // Ordinal comparison: a case-only rename is a real change.
      if (name !== f.folderName) {
        f.folderName = name;
        f.version++;
      }
      sendJson(res, 200, folderDto(ctx.app, f), etag(f.version));
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/assets/folders/${ID}/?$`),
    key: 'DELETE /assets/folders/{id}',
    async handle(ctx, { req, res, params }) {
      const f = ctx.store.liveFolder(params[0], expectedVersion(req));
      ctx.store.deleteFolder(f);
      sendEmpty(res, 204, etag(f.version));
    },
  },
];
