import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Store } from './store.js';
import type { TusStore } from './tusstore.js';
import type { UploadLimits } from './upload.js';

/** What every API handler gets: the app's store and the server's settings. */
export interface ApiContext {
  store: Store;
  app: string;
  /** Absolute base URL, for Location headers and edit tokens. */
  rootUrl: string;
  limits: UploadLimits;
  /** The failUploadsNamed fault: true when an upload of this file name is to be answered 500. */
  failsUpload?(fileName: string): boolean;
  tus: TusStore;
}

export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
}

export interface Route {
  method: string;
  /** Matched against the path after `/api/apps/{app}`; captures are the params. */
  pattern: RegExp;
  /** The key in Inspection.counters.byRoute. */
  key: string;
  handle(ctx: ApiContext, call: RouteCall): Promise<void>;
}

/** Query lookup that ignores case, as ASP.NET Core model binding does. */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of query) if (k.toLowerCase() === want) return v;
  return undefined;
}

export function queryBool(query: URLSearchParams, name: string): boolean {
  return queryValue(query, name)?.toLowerCase() === 'true';
}
