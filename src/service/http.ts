import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SyncError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/log.js';
import type { HealthReport } from './health.js';
import { handleWeb, send, sendJson, type WebOptions } from './web.js';
import { allowedHosts, hostAllowed } from './webauth.js';

export interface HttpServerOptions {
  /** Default 127.0.0.1. Anything else must be passed on purpose (config `http.host`): /status names local paths. */
  host?: string;
  /** 0 picks a free port (tests). */
  port: number;
  health: () => HealthReport;
  status: () => unknown | Promise<unknown>;
  metrics: { text(): Promise<string>; readonly contentType: string };
  /** The local page and its actions; /status then needs its token too. */
  web?: Omit<WebOptions, 'hosts' | 'logger'>;
  logger?: Logger;
}

export interface HttpServer {
  /** e.g. http://127.0.0.1:7463 */
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The local endpoint (`http: { port }` in the config): GET /health and
 * /metrics for service managers and scrapers, and behind the page's token the
 * page itself, its API and /status (see web.ts for how it is kept safe from
 * the websites the user visits).
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  // Node reads an empty host as "every interface": that must never happen by accident.
  if (host.trim() === '') {
    throw new SyncError('HTTP_BAD_HOST', 'http.host is empty, which would listen on every network interface.', {
      hint: 'Leave http.host out to listen on 127.0.0.1 only, or name the address to listen on.',
    });
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new SyncError('HTTP_BAD_PORT', `http.port must be a whole number from 0 to 65535, got ${options.port}.`);
  }
  if (!isLoopbackHost(host)) {
    logger.warn({ host }, 'status endpoint listens beyond this machine; /status shows local paths and has no authentication');
  }

  let hosts: ReadonlySet<string> = new Set();
  const server = createServer((req, res) => {
    handle(req, res, options, hosts, logger).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'status endpoint failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  // Scrapers keep connections open; do not let one hold shutdown.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint =
        err.code === 'EADDRINUSE'
          ? 'Another program (or another squidex-sync) uses this port; pick another http.port.'
          : err.code === 'EADDRNOTAVAIL'
            ? 'This machine has no such address; use 127.0.0.1.'
            : undefined;
      const what =
        err.code === 'EADDRINUSE' ? `http.port ${options.port} is already in use on ${host}` : `cannot listen on ${host}:${options.port}`;
      reject(new SyncError('HTTP_LISTEN', `${what} (${err.code ?? err.message}).`, { cause: err, hint }));
    };
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shown}:${addr.port}`;
  hosts = allowedHosts(addr.address, addr.port);
  logger.info({ url }, 'status endpoint listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: HttpServerOptions,
  hosts: ReadonlySet<string>,
  logger: Logger,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  if (!hostAllowed(req, hosts))
    return send(res, 403, 'text/plain; charset=utf-8', 'forbidden: this endpoint answers to 127.0.0.1 and localhost only\n');
  if (options.web && (await handleWeb(req, res, url, { ...options.web, hosts, logger }))) return;
  const known = path === '/health' || path === '/metrics' || path === '/status';
  if (!known) return send(res, 404, 'text/plain; charset=utf-8', 'not found: try /, /health, /metrics or /status\n');
  if (req.method !== 'GET') {
    res.setHeader('Allow', 'GET');
    return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n');
  }

  if (path === '/health') {
    let report: HealthReport;
    try {
      report = options.health();
    } catch (err) {
      logger.error({ err }, 'health check failed');
      report = { ok: false, reasons: ['the health check itself failed; see the log'] };
    }
    const body = report.ok ? { ok: true } : { ok: false, reasons: report.reasons };
    return sendJson(res, report.ok ? 200 : 503, body);
  }
  if (path === '/metrics') {
    return send(res, 200, options.metrics.contentType, await options.metrics.text());
  }
  return sendJson(res, 200, await options.status());
}
