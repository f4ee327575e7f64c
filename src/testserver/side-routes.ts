import type { IncomingMessage, ServerResponse } from 'node:http';
import { FaultSettingsError } from './faults.js';
import { ApiError, notFound, readSmallBody, sendEmpty, sendJson } from './http.js';
import type { Socket } from 'node:net';
import type { TokenIssuer } from './auth.js';
import type { FaultInjector } from './faults.js';
import type { Store } from './store.js';
import { type TusStore, TusSwitchError } from './tusstore.js';
import type { FaultSettings, Inspection, TusSwitches } from './types.js';

/** What the side routes use of the server (SquidexTestServer has it all). */
export interface SideRouteHost {
  readonly app: string;
  readonly store: Store;
  readonly tokens: TokenIssuer;
  readonly faults: FaultInjector;
  readonly tus: TusStore;
  inspect(): Inspection;
  dropConnections(keep?: Socket): void;
  setReferenced(ids: readonly string[], referenced: boolean): void;
  resetCounters(): void;
}

/** /_test/*: inspection and fault switches for tests and benchmarks in other processes; never faulted. */
export async function handleTestRoute(s: SideRouteHost, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const route = `${req.method} ${path.replace(/\/$/, '')}`;
  switch (route) {
    case 'GET /_test/inspect':
      return sendJson(res, 200, s.inspect());
    case 'GET /_test/tus':
      return sendJson(res, 200, s.tus.switches);
    case 'POST /_test/tus': {
      // JSON Partial<TusSwitches>, plus `expireAll: true` to expire every upload now.
      try {
        const { expireAll, ...patch } = JSON.parse((await readSmallBody(req)).toString('utf8') || '{}') as Partial<TusSwitches> & {
          expireAll?: boolean;
        };
        s.tus.update(patch);
        if (expireAll) s.tus.expireAll();
      } catch (e) {
        if (e instanceof SyntaxError || e instanceof TusSwitchError) throw new ApiError(400, { message: e.message });
        throw e;
      }
      return sendJson(res, 200, s.tus.switches);
    }
    case 'GET /_test/faults':
      return sendJson(res, 200, s.faults.settings);
    case 'POST /_test/faults': {
      let patch: Partial<FaultSettings>;
      try {
        patch = JSON.parse((await readSmallBody(req)).toString('utf8') || '{}') as Partial<FaultSettings>;
        s.faults.update(patch);
      } catch (e) {
        if (e instanceof SyntaxError || e instanceof FaultSettingsError) {
          throw new ApiError(400, { message: e.message });
        }
        throw e;
      }
      // The switch's own connection survives "down" so the caller gets its answer.
      if (patch.down) s.dropConnections(req.socket);
      return sendJson(res, 200, s.faults.settings, { Connection: 'close' });
    }
    case 'POST /_test/references': {
      // {"ids": [...], "referenced": true|false}: content uses these assets (or no longer).
      let body: { ids?: unknown; referenced?: unknown };
      try {
        body = JSON.parse((await readSmallBody(req)).toString('utf8') || '{}') as typeof body;
      } catch (e) {
        throw new ApiError(400, { message: (e as Error).message });
      }
      if (!Array.isArray(body.ids) || body.ids.some((id) => typeof id !== 'string'))
        throw new ApiError(400, { message: 'ids: expected a list of asset ids' });
      s.setReferenced(body.ids as string[], body.referenced !== false);
      return sendEmpty(res, 204);
    }
    case 'POST /_test/reset-counters':
      s.resetCounters();
      return sendEmpty(res, 204);
    case 'POST /_test/expire-tokens':
      s.tokens.expireAll();
      return sendEmpty(res, 204);
    default:
      throw notFound();
  }
}

/** GET /api/assets/{app}/{idOrSlug}/…: the stored bytes, for read-back checks. Anonymous, as for unprotected assets. */
export function handleContent(s: SideRouteHost, res: ServerResponse, app: string, idOrSlug: string): void {
  if (app !== s.app) throw notFound();
  let asset = s.store.assets.get(idOrSlug);
  if (!asset || asset.deleted) asset = [...s.store.assets.values()].find((a) => !a.deleted && a.slug === idOrSlug);
  if (!asset || asset.deleted) throw notFound();
  if (!asset.bytes) {
    throw new ApiError(404, { message: 'The test server was started with keepBytes: false and stored only the hash.' });
  }
  res.writeHead(200, {
    'Content-Type': asset.mimeType,
    'Content-Length': asset.bytes.length,
    ETag: `"${asset.fileVersion}"`,
    'Content-Disposition': `inline; filename*=UTF-8''${encodeURIComponent(asset.fileName)}`,
  });
  res.end(asset.bytes);
}
