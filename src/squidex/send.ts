import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { classifyFailure, type FailureContext } from './classify.js';
import type { Connection } from './connection.js';
import { paceOf } from './errors.js';
import { exchange, type Exchanged } from './exchange.js';

/** One request of a protocol the caller speaks itself (tus, tus.ts); see SquidexClient.send. */
export interface SendRequest {
  method: Dispatcher.HttpMethod;
  /** Absolute: apiUrl('/assets/tus'), or a URL the server handed out (a tus Location) resolved against it. */
  url: string;
  headers?: Record<string, string>;
  /** Called once per attempt: a token refresh sends the body again. */
  body?: () => Buffer | AsyncIterable<Uint8Array>;
  /** Statuses outside 2xx that the caller reads itself instead of getting them thrown. */
  pass?: readonly number[];
  signal?: AbortSignal;
  ctx: Omit<FailureContext, 'now' | 'clientId'>;
}

export interface SendResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request whose answer the caller reads itself: the same agent, CA,
 * timeouts, token (refreshed once on 401) and secret scrubbing as every call.
 * Network failures, and statuses outside 2xx and `pass`, are classified as
 * everywhere else.
 */
export async function send(conn: Connection, req: SendRequest): Promise<SendResponse> {
  try {
    return await sendOnce(conn, req, true);
  } catch (e) {
    throw conn.scrub(e);
  }
}

async function sendOnce(conn: Connection, req: SendRequest, mayRefresh: boolean): Promise<SendResponse> {
  const url = conn.target(req.url);
  const token = await conn.bearer(req.signal);
  const ctx = (): FailureContext => conn.context(req.ctx);
  const started = conn.clock.now();
  const bytes = Number(req.headers?.['content-length'] ?? 0);
  // A request with a body is a piece of a file (tus PATCH): an upload, under a pinned number too.
  const gate = conn.gate(req.body !== undefined);
  const ticket = gate && (gate.enterNow(req.signal) ?? (await gate.enter(req.signal)));
  const deadline = conn.deadline(req.ctx, bytes, req.signal);
  let res: Exchanged;
  let text: string;
  let answered: number | undefined;
  try {
    const body = req.body?.() as string | Buffer | Readable | undefined;
    res = await exchange(conn.agent, url, {
      method: req.method,
      headers: { authorization: `Bearer ${token}`, ...req.headers },
      body,
      abort: deadline,
    });
    answered = res.statusCode;
    text = res.text;
  } catch (e) {
    throw classifyFailure({ kind: 'network', error: e }, ctx());
  } finally {
    ticket?.done(paceOf(answered), bytes);
    deadline.clear();
  }
  if (conn.logger.isLevelEnabled('debug'))
    conn.logger.debug(
      { method: req.method, path: new URL(url).pathname, status: res.statusCode, ms: conn.clock.now() - started },
      'squidex request',
    );
  if (res.statusCode === 401 && mayRefresh && conn.tokens.refreshable) {
    conn.tokens.invalidate(token);
    return sendOnce(conn, req, false);
  }
  if ((res.statusCode < 200 || res.statusCode >= 300) && !req.pass?.includes(res.statusCode)) {
    throw classifyFailure({ kind: 'http', status: res.statusCode, headers: res.headers, body: text }, ctx());
  }
  return { status: res.statusCode, headers: res.headers, body: text };
}
