import type { Dispatcher } from 'undici';
import type { NotifySettings } from '../config/index.js';
import type { Logger } from '../lib/log.js';
import type { ServerState } from './overview.js';

export interface NotifySnapshot {
  /** Failed paths now, newest first. */
  failed: Array<{ mapping: string; path: string; error: string | null; code: string | null; at: number | null }>;
  /** Per mapping, why its deletions are held (null: not held). */
  held: Array<{ mapping: string; reason: string | null }>;
  /** Files waiting, for "21 files waiting". */
  waiting: number;
  /** What the daemon's verify found changed in Squidex (sync.verifyInterval), as `status` lists it. */
  drift?: { mode: 'report' | 'restore'; items: Array<{ mapping: string; path: string; kind: string; assetId: string; detail: string }> };
}

export interface NotifyDeps {
  settings: NotifySettings;
  /** One look at the state per tick. */
  snapshot(): NotifySnapshot;
  server(): ServerState;
  now(): number;
  logger: Logger;
  /** Sends one message; the default posts `{"text": …}` to the webhook. */
  post?: (text: string) => Promise<void>;
  /** ms between tries of one message (tests shorten it). */
  retryDelaysMs?: readonly number[];
}

const LISTED = 20;
const MAX_QUEUED = 20;

/**
 * Tells a person, through an incoming webhook, what needs one: files that
 * failed (a digest at most every `everyMinutes`), deletions held by the guard,
 * and Squidex away or refusing the credentials for longer than `afterMinutes`,
 * then that it is back. It looks at the state on a timer (`tick`) rather than
 * hooking into the worker, and it sends on its own: a webhook that hangs or
 * fails never holds up syncing.
 */
export class WebhookNotifier {
  private readonly known = new Set<string>();
  private lastDigestAt = -Infinity;
  private readonly heldSaid = new Map<string, string>();
  private outageSaid = false;
  private readonly driftSaid = new Set<string>();
  private readonly queue: string[] = [];
  private sending = false;
  private readonly post: (text: string) => Promise<void>;
  private readonly delays: readonly number[];

  constructor(private readonly deps: NotifyDeps) {
    this.post = deps.post ?? ((text) => postWebhook(deps.settings, text));
    this.delays = deps.retryDelaysMs ?? [2000, 10_000, 60_000];
    // Failures from before this start were someone's news already.
    const first = deps.snapshot();
    for (const f of first.failed) this.known.add(failureKey(f));
    for (const d of first.drift?.items ?? []) this.driftSaid.add(driftKey(d));
  }

  tick(): void {
    const now = this.deps.now();
    const snap = this.deps.snapshot();
    this.failures(snap.failed, now);
    this.holds(snap.held);
    this.outage(snap.waiting, now);
    if (snap.drift) this.drift(snap.drift);
  }

  /** Differences with Squidex not told yet: one message per verify that found new ones. */
  private drift(drift: NonNullable<NotifySnapshot['drift']>): void {
    const fresh = drift.items.filter((d) => !this.driftSaid.has(driftKey(d)));
    this.driftSaid.clear(); // only what is listed now is remembered: bounded by the list
    for (const d of drift.items) this.driftSaid.add(driftKey(d));
    const changed = fresh.filter((d) => d.kind !== 'unknown');
    const unknown = fresh.length - changed.length;
    if (fresh.length === 0) return;
    const lines = changed.slice(0, LISTED).map((d) => `• ${d.mapping}: ${d.path} — ${d.kind}: ${d.detail}`);
    if (changed.length > LISTED) lines.push(`… and ${changed.length - LISTED} more`);
    if (unknown > 0)
      lines.push(`${unknown} asset${unknown === 1 ? '' : 's'} in mapped folders not from the share (listed, never deleted).`);
    const head =
      changed.length === 0
        ? 'squidex-sync: new assets in mapped folders, uploaded in Squidex by someone else:'
        : drift.mode === 'restore'
          ? `squidex-sync: ${changed.length} change${changed.length === 1 ? '' : 's'} made in Squidex could not be put back (the daemon's log says why):`
          : `squidex-sync: ${changed.length} asset${changed.length === 1 ? ' was' : 's were'} changed in Squidex and left as they are (sync.serverChanges: report); \`squidex-sync verify --repair\` puts the share's version back:`;
    this.send(`${head}\n${lines.join('\n')}`);
  }

  private failures(failed: NotifySnapshot['failed'], now: number): void {
    const fresh = failed.filter((f) => !this.known.has(failureKey(f)));
    if (fresh.length === 0 || now - this.lastDigestAt < this.deps.settings.everyMinutes * 60_000) return;
    this.known.clear(); // only what is failed now is remembered: bounded by the failed list
    for (const f of failed) this.known.add(failureKey(f));
    this.lastDigestAt = now;
    const lines = fresh.slice(0, LISTED).map((f) => `• ${f.mapping}: ${f.path} — ${f.error ?? f.code ?? 'unknown error'}`);
    if (fresh.length > LISTED) lines.push(`… and ${fresh.length - LISTED} more`);
    this.send(
      `squidex-sync: ${fresh.length} file${fresh.length === 1 ? '' : 's'} failed and will not be tried again until they change or someone presses Retry:\n${lines.join('\n')}`,
    );
  }

  private holds(held: NotifySnapshot['held']): void {
    for (const { mapping, reason } of held) {
      if (reason === null) {
        this.heldSaid.delete(mapping);
        continue;
      }
      if (this.heldSaid.get(mapping) === reason) continue;
      this.heldSaid.set(mapping, reason);
      this.send(
        `squidex-sync: deletions of "${mapping}" are held because ${reason}. Nothing is deleted on the server until someone confirms (the page's "Delete them" button, or \`squidex-sync confirm-deletes ${mapping}\`).`,
      );
    }
  }

  private outage(waiting: number, now: number): void {
    const s = this.deps.server();
    const away = s.state === 'unreachable' || s.state === 'refused';
    if (away && !this.outageSaid && s.since !== null && now - s.since >= this.deps.settings.afterMinutes * 60_000) {
      this.outageSaid = true;
      const since = new Date(s.since).toISOString();
      this.send(
        s.state === 'refused'
          ? `squidex-sync: Squidex has refused the credentials since ${since}${s.reason ? ` (${s.reason})` : ''}. Uploads wait; fix the client id or secret.`
          : `squidex-sync: Squidex has been unreachable since ${since}${s.reason ? ` (${s.reason})` : ''}; ${waiting} files waiting. They go out by themselves when it answers.`,
      );
    } else if (!away && s.state === 'ok' && this.outageSaid) {
      this.outageSaid = false;
      this.send('squidex-sync: Squidex answers again; waiting files are going out.');
    }
  }

  private send(text: string): void {
    if (this.queue.length >= MAX_QUEUED) this.queue.shift(); // a receiver that is down for days must not grow memory
    this.queue.push(text);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const text = this.queue[0];
        for (let attempt = 0; ; attempt++) {
          try {
            await this.post(text);
            break;
          } catch (e) {
            if (attempt >= this.delays.length) {
              this.deps.logger.warn({ err: e }, 'the notify.webhook did not take a message after %d tries; dropped it', attempt + 1);
              break;
            }
            await new Promise((r) => setTimeout(r, this.delays[attempt]).unref());
          }
        }
        this.queue.shift();
      }
    } finally {
      this.sending = false;
    }
  }
}

function driftKey(d: { assetId: string; kind: string; detail: string }): string {
  return `${d.assetId}\0${d.kind}\0${d.detail}`;
}

function failureKey(f: { mapping: string; path: string; at: number | null }): string {
  return `${f.mapping}\0${f.path}\0${f.at ?? ''}`;
}

/** One POST of `{"text": …}`. The URL is a secret (Slack's carry their key): it never reaches a message. */
async function postWebhook(settings: NotifySettings, text: string): Promise<void> {
  if (!settings.webhook) return;
  // Loaded at the first message: undici's index (fetch, WebSocket, …) is most of its load time, which a start would pay before running.
  const { request } = await import('undici');
  let res: Dispatcher.ResponseData;
  try {
    res = await request(settings.webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...settings.headers },
      body: JSON.stringify({ text }),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
  } catch (e) {
    throw new Error(`webhook request failed (${(e as { code?: string }).code ?? 'network error'})`);
  }
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`webhook answered HTTP ${res.statusCode}`);
}
