import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { assetRoutes } from './assets.js';
import { TokenIssuer } from './auth.js';
import type { ApiContext, Route } from './context.js';
import { FaultInjector, type FaultPlan } from './faults.js';
import { folderRoutes } from './folders.js';
import { ApiError, errorDto, notFound, sendError, sendJson } from './http.js';
import { Store, emptyCounters } from './store.js';
import type { UploadLimits } from './upload.js';
import { handleContent, handleTestRoute } from './side-routes.js';
import { bulkRoute } from './bulk.js';
import { CapacityModel } from './capacity.js';
import { tusRoutes } from './tus.js';
import { TusStore } from './tusstore.js';
import { DEFAULT_MAX_UPLOAD, DEFAULT_TOKEN_LIFETIME_SEC, type Inspection, type TestServer, type TestServerOptions } from './types.js';

// bulk before assets: `POST /assets/bulk` would match the upsert's `POST /assets/{id}`.
const ROUTES: Route[] = [...folderRoutes, bulkRoute, ...assetRoutes];
// tus first when it is on; when off, `POST /assets/tus` reaches the upsert route, as on an older Squidex.
const WITH_TUS: Route[] = [...tusRoutes, ...ROUTES];
const TOKEN_PATH = '/identity-server/connect/token';
/** How much of an abandoned request body we still read so the client sees our answer rather than a reset. */
const DRAIN_CAP = 64 * 1024 * 1024;

export class SquidexTestServer {
  readonly http: Server;
  readonly store: Store;
  readonly tokens: TokenIssuer;
  readonly faults: FaultInjector;
  readonly tus: TusStore;
  readonly app: string;
  readonly clientId: string;
  readonly clientSecret: string;
  url = '';
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly limits: UploadLimits;
  private readonly noBulk: boolean;
  private readonly capacity: CapacityModel;

  constructor(private readonly opts: TestServerOptions) {
    this.app = opts.app ?? 'demo';
    this.clientId = opts.clientId ?? `${this.app}:sync`;
    this.clientSecret = opts.clientSecret ?? 'demo-secret';
    this.store = new Store(`${this.app}-app-id`, `client:${this.clientId}`);
    this.tokens = new TokenIssuer(this.clientId, this.clientSecret, opts.tokenLifetimeSec ?? DEFAULT_TOKEN_LIFETIME_SEC);
    this.faults = new FaultInjector(opts.seed ?? 1, opts.faults);
    this.limits = { maxUploadBytes: opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD, keepBytes: opts.keepBytes ?? true };
    this.noBulk = opts.bulk === false;
    this.tus = new TusStore(typeof opts.tus === 'boolean' ? { enabled: opts.tus } : opts.tus);
    this.capacity = new CapacityModel(
      () => this.faults.settings,
      () => this.store.counters,
      (ms) => this.sleep(ms),
    );
    this.http = createServer((req, res) => void this.onRequest(req, res));
    this.http.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<void> {
    // Again on the port it had, after stopListening(): clients keep their URL.
    const port = this.url ? Number(new URL(this.url).port) : (this.opts.port ?? 0);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Like a stopped Squidex: nothing listens (ECONNREFUSED), open connections drop; the store stays. */
  async stopListening(): Promise<void> {
    if (!this.http.listening) return;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    this.dropConnections();
    await closed;
  }

  /** Drops every open connection, as a crashed or unplugged server would; `keep` is the caller's own. */
  dropConnections(keep?: Socket): void {
    for (const s of this.sockets) if (s !== keep) s.destroy();
  }

  inspect(): Inspection {
    return { ...this.store.inspect(), tus: this.tus.inspect() };
  }

  /** As an operator raising `assets:maxSize` (or a proxy's limit) while the server runs. */
  setMaxUploadBytes(n: number): void {
    this.limits.maxUploadBytes = n;
  }

  resetCounters(): void {
    this.store.counters = emptyCounters();
  }

  setReferenced(ids: readonly string[], referenced: boolean): void {
    for (const id of ids) {
      if (referenced) this.store.referenced.add(id);
      else this.store.referenced.delete(id);
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    this.dropConnections();
    await closed;
  }

  private ctx(): ApiContext {
    const name = this.faults.settings.failUploadsNamed;
    return {
      store: this.store,
      app: this.app,
      rootUrl: this.url,
      limits: this.limits,
      failsUpload: (f) => name !== null && f === name,
      tus: this.tus,
    };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname;
    let free = (): void => undefined;
    try {
      if (path.startsWith('/_test/')) return await handleTestRoute(this, req, res, path);
      const left = this.capacity.arrived(carriesFile(req));
      res.once('close', left);
      if (this.refusedByProxy(req, res)) return;
      const target = this.resolve(req, res, path);
      const c = this.store.counters;
      c.requests++;
      c.byRoute[target.key] = (c.byRoute[target.key] ?? 0) + 1;
      await this.opts.onRequest?.(req.method ?? 'GET', path);
      if (!(await this.applyFaults(req, res))) return;
      if (!this.capacity.admit(Date.now())) return this.refuse(res);
      free = await this.capacity.work();
      await target.run(url.searchParams);
    } catch (e) {
      if (e instanceof ApiError) sendError(res, e);
      else {
        console.error('[fake-squidex] handler failed:', e);
        sendJson(res, 500, errorDto(500, { message: '' }));
      }
    } finally {
      free();
      this.drainRest(req);
    }
  }

  /** Beyond maxRequestsPerSecond: 429, with Retry-After only when retryAfterSec is set (as for rate429). */
  private refuse(res: ServerResponse): void {
    this.store.counters.faults++;
    const s = this.faults.settings;
    const headers: Record<string, string> = s.retryAfterSec !== null ? { 'Retry-After': String(s.retryAfterSec) } : {};
    if (s.htmlErrors) sendProxyPage(res, 429, headers);
    else sendJson(res, 429, errorDto(429, { message: '' }), headers);
  }

  /** Picks the handler and its byRoute key; auth (401) comes before app resolution (404), as in Squidex. */
  private resolve(req: IncomingMessage, res: ServerResponse, path: string): { key: string; run(query: URLSearchParams): Promise<void> } {
    const method = req.method ?? 'GET';
    const routes = this.tus.switches.enabled ? WITH_TUS : ROUTES;
    return {
      key: routeKey(method, path, this.tus.switches.enabled),
      run: async (query) => {
        if (path === TOKEN_PATH && method === 'POST') {
          this.store.counters.tokens++;
          return this.tokens.handle(req, res);
        }
        const content = /^\/api\/assets\/([^/]+)\/([^/]+)(?:\/.*)?$/.exec(path);
        if (content && method === 'GET') return handleContent(this, res, decodeURIComponent(content[1]), decodeURIComponent(content[2]));
        if (!path.startsWith('/api/')) throw notFound();
        // RequestExceptionMiddleware's test hook: ?error=<400..599> answers that status untouched.
        const forced = Number(query.get('error'));
        if (Number.isInteger(forced) && forced >= 400 && forced < 600) throw new ApiError(forced, { message: '' });
        this.tokens.authenticate(req);
        const m = /^\/api\/apps\/([^/]+)(\/.*)$/.exec(path);
        if (!m || decodeURIComponent(m[1]) !== this.app) throw notFound();
        if (this.noBulk && method === 'POST' && bulkRoute.pattern.test(m[2])) throw notFound();
        for (const r of routes) {
          const hit = r.method === method ? r.pattern.exec(m[2]) : null;
          if (hit) return r.handle(this.ctx(), { req, res, params: hit.slice(1).map(decodeURIComponent), query });
        }
        throw notFound();
      },
    };
  }

  /** nginx's client_max_body_size: a declared body over the limit gets its 413 page before the app sees anything. */
  private refusedByProxy(req: IncomingMessage, res: ServerResponse): boolean {
    const max = this.opts.proxyMaxBodyBytes ?? 0;
    if (!(max > 0) || !(Number(req.headers['content-length'] ?? 0) > max)) return false;
    this.store.counters.requests++;
    this.store.counters.byRoute['413 (proxy)'] = (this.store.counters.byRoute['413 (proxy)'] ?? 0) + 1;
    const page =
      '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    res.writeHead(413, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(page) });
    res.end(page);
    return true;
  }

  /** Decides this request's fault from the seeded stream; false when the request is not to be served. */
  private async applyFaults(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (this.faults.settings.down) {
      this.store.counters.faults++;
      req.socket.destroy();
      return false;
    }
    const plan: FaultPlan = this.faults.plan();
    if (plan.delayMs > 0) await this.sleep(plan.delayMs);
    const a = plan.action;
    if (a.kind === 'none') return true;
    this.store.counters.faults++;
    if (a.kind === 'reset') resetMidBody(req);
    else if (a.kind === 'hang') req.resume();
    else {
      const headers: Record<string, string> = a.retryAfterSec !== null ? { 'Retry-After': String(a.retryAfterSec) } : {};
      if (this.faults.settings.htmlErrors) sendProxyPage(res, a.status, headers);
      else sendJson(res, a.status, errorDto(a.status, { message: '' }), headers);
    }
    return false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Reads what the handler left unread so keep-alive survives an early answer (401, 413, 400). */
  private drainRest(req: IncomingMessage): void {
    if (req.complete || req.destroyed) return;
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > DRAIN_CAP) req.socket.destroy();
    });
    req.resume();
  }
}

/** byRoute keys name the route shape without /api/apps/{app}: `PUT /assets/{id}/content`. */
export function routeKey(method: string, path: string, tus = true): string {
  if (path === TOKEN_PATH) return `${method} /token`;
  if (/^\/api\/assets\/[^/]+\/[^/]+/.test(path)) return `${method} /content/{id}`;
  const m = /^\/api\/apps\/[^/]+(\/.*)$/.exec(path);
  if (m) for (const r of tus ? WITH_TUS : ROUTES) if (r.method === method && r.pattern.test(m[1])) return r.key;
  return `${method} (unknown)`;
}

/** An upload: a multipart form (create, upsert, replace content) or a piece of a tus upload. */
function carriesFile(req: IncomingMessage): boolean {
  const type = String(req.headers['content-type'] ?? '');
  return type.startsWith('multipart/form-data') || (req.method === 'PATCH' && type === 'application/offset+octet-stream');
}

/** What nginx in front of a stopped or overloaded Squidex answers: a small HTML page. */
function sendProxyPage(res: ServerResponse, status: number, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  const page = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  res.writeHead(status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(page), ...headers });
  res.end(page);
}

/** The client sees its connection reset while still sending, and nothing is stored. */
function resetMidBody(req: IncomingMessage): void {
  const kill = (): void => {
    if (req.socket.resetAndDestroy) req.socket.resetAndDestroy();
    else req.socket.destroy();
  };
  const length = Number(req.headers['content-length'] ?? 0);
  const chunked = /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
  if (!chunked && !(length > 0)) {
    kill();
    return;
  }
  const at = Math.max(1, Math.floor(length / 2));
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n >= at) kill();
  });
  req.on('end', kill);
}

export async function start(opts: TestServerOptions = {}): Promise<TestServer> {
  const s = new SquidexTestServer(opts);
  await s.listen();
  return {
    url: s.url,
    app: s.app,
    clientId: s.clientId,
    clientSecret: s.clientSecret,
    setFaults: (f) => {
      s.faults.update(f);
      if (f.down) s.dropConnections();
    },
    setReferenced: (ids, referenced = true) => s.setReferenced(ids, referenced),
    setTus: ({ expireAll, ...switches }) => {
      s.tus.update(switches);
      if (expireAll) s.tus.expireAll();
    },
    stopListening: () => s.stopListening(),
    listen: () => s.listen(),
    inspect: () => s.inspect(),
    setMaxUploadBytes: (n) => s.setMaxUploadBytes(n),
    resetCounters: () => s.resetCounters(),
    close: () => s.close(),
  };
}
