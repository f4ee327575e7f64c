import { ApiError, errorDto, expectedVersion, readJsonBody, sendJson, validation } from './http.js';
import { annotate } from './assets.js';
import type { ApiContext, Route } from './context.js';
import { ROOT_ID } from './types.js';

/**
 * `POST /assets/bulk` (reference §9): Annotate, Move and Delete jobs, results in
 * job order, 200 even when jobs fail. Every job runs against the request's
 * If-Match, never its own expectedVersion (the server overwrites it). A missing
 * asset is reported as `"message": "OBJECT_NOTFOUND"` without an errorCode.
 */
export const bulkRoute: Route = {
  method: 'POST',
  pattern: /^\/assets\/bulk\/?$/,
  key: 'POST /assets/bulk',
  async handle(ctx, call) {
    const body = await readJsonBody(call.req);
    if (!Array.isArray(body.jobs)) throw validation('Jobs is required.');
    // An unknown type fails model binding: the whole request is a 400, nothing runs.
    for (const j of body.jobs as Array<Record<string, unknown> | null>) {
      if (!TYPES.has(String(j?.type)))
        throw validation(`The JSON value could not be converted to BulkUpdateAssetType. Path: $.jobs[].type.`);
    }
    const expected = expectedVersion(call.req);
    const checkReferrers = body.checkReferrers === true;
    const results = (body.jobs as unknown[]).map((raw, jobIndex) => {
      const job = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const id = typeof job.id === 'string' ? job.id : ROOT_ID;
      const result: Record<string, unknown> = { jobIndex, id, contentId: id };
      try {
        run(ctx, id, job, expected, checkReferrers);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        result.error =
          e.status === 404 ? errorDto(404, { message: 'OBJECT_NOTFOUND' }) : errorDto(e.status, 'raw' in e.body ? { message: '' } : e.body);
      }
      return result;
    });
    sendJson(call.res, 200, results);
  },
};

const TYPES = new Set(['Annotate', 'Move', 'Delete']);

function run(ctx: ApiContext, id: string, job: Record<string, unknown>, expected: number | undefined, checkReferrers: boolean): void {
  const store = ctx.store;
  switch (job.type) {
    case 'Annotate': {
      const a = store.liveAsset(id, expected);
      if (annotate(a, job)) store.touch(a);
      return;
    }
    case 'Move': {
      const a = store.liveAsset(id, expected);
      store.moveAsset(a, typeof job.parentId === 'string' && job.parentId ? job.parentId : ROOT_ID);
      return;
    }
    case 'Delete': {
      const a = store.assets.get(id);
      if (!a) throw new ApiError(404, { message: '' });
      if (job.permanent === true) {
        store.checkVersion(id, a.version, expected);
        store.checkReferrers(id, checkReferrers);
        store.assets.delete(id);
        return;
      }
      if (a.deleted) throw store.deletedError(id);
      store.checkVersion(id, a.version, expected);
      store.checkReferrers(id, checkReferrers);
      a.deleted = true;
      store.touch(a);
      return;
    }
  }
}
