import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/log.js';
import { WebhookNotifier, type NotifySnapshot } from '../../src/service/notify.js';
import type { ServerState } from '../../src/service/overview.js';
import { waitFor, World, type Daemon } from '../support/world.js';

/** A local incoming-webhook receiver: records every JSON body; `failFirst` answers 500 that many times. */
async function receiver(
  failFirst = 0,
): Promise<{ url: string; texts: string[]; headers: Array<Record<string, unknown>>; close(): Promise<void> }> {
  const texts: string[] = [];
  const headers: Array<Record<string, unknown>> = [];
  let failures = failFirst;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (failures > 0) {
        failures -= 1;
        res.statusCode = 500;
        res.end();
        return;
      }
      texts.push((JSON.parse(body) as { text: string }).text);
      headers.push(req.headers);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/T000/B000/secret-part`,
    texts,
    headers,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function notifier(
  url: string,
  o: { snap: () => NotifySnapshot; server?: () => ServerState; now: () => number; everyMinutes?: number; afterMinutes?: number },
) {
  return new WebhookNotifier({
    settings: { webhook: url, headers: { 'X-Team': 'design' }, everyMinutes: o.everyMinutes ?? 15, afterMinutes: o.afterMinutes ?? 10 },
    snapshot: o.snap,
    server: o.server ?? (() => ({ state: 'ok', since: null, reason: null })),
    now: o.now,
    logger: silentLogger,
    retryDelaysMs: [10, 10, 10],
  });
}

const empty: NotifySnapshot = { failed: [], held: [], waiting: 0 };

describe('notify.webhook', () => {
  it('sends one digest of new failures at most every everyMinutes, naming files and reasons', async () => {
    const r = await receiver();
    closers.push(r.close);
    let now = 1_000_000;
    let snap: NotifySnapshot = { ...empty, failed: [{ mapping: 'm', path: 'old.psd', error: 'too large', code: 'X', at: 1 }] };
    const n = notifier(r.url, { snap: () => snap, now: () => now });
    // old.psd failed before the start: not news
    const failed = Array.from({ length: 25 }, (_, i) => ({ mapping: 'm', path: `f${i}.tif`, error: `refused ${i}`, code: 'X', at: now }));
    snap = { ...snap, failed: [...failed, ...snap.failed] };
    n.tick();
    await waitFor(() => r.texts.length === 1);
    expect(r.texts[0]).toContain('25 files failed');
    expect(r.texts[0]).toContain('m: f0.tif — refused 0');
    expect(r.texts[0]).toContain('… and 5 more');
    expect(r.texts[0]).not.toContain('old.psd');
    expect(r.headers[0]['x-team']).toBe('design');

    snap = { ...snap, failed: [{ mapping: 'm', path: 'later.ai', error: 'bad', code: 'X', at: now + 1 }, ...snap.failed] };
    now += 60_000;
    n.tick(); // within everyMinutes of the last digest: held back
    await new Promise((res) => setTimeout(res, 100));
    expect(r.texts).toHaveLength(1);
    now += 15 * 60_000;
    n.tick();
    await waitFor(() => r.texts.length === 2);
    expect(r.texts[1]).toContain('1 file failed');
    expect(r.texts[1]).toContain('later.ai');
  });

  it('tells once about held deletions, and about Squidex away past afterMinutes, then that it is back', async () => {
    const r = await receiver();
    closers.push(r.close);
    let now = 5_000_000;
    let snap: NotifySnapshot = {
      failed: [],
      held: [{ mapping: 'photos', reason: '164 of 207 files (79%) vanished at once' }],
      waiting: 21,
    };
    let server: ServerState = { state: 'unreachable', since: now, reason: 'connection refused' };
    const n = notifier(r.url, { snap: () => snap, server: () => server, now: () => now });
    n.tick();
    n.tick();
    await waitFor(() => r.texts.length === 1);
    expect(r.texts[0]).toContain('deletions of "photos" are held because 164 of 207 files');
    now += 9 * 60_000;
    n.tick();
    await new Promise((res) => setTimeout(res, 100));
    expect(r.texts).toHaveLength(1);
    now += 2 * 60_000;
    n.tick();
    n.tick();
    await waitFor(() => r.texts.length === 2);
    expect(r.texts[1]).toContain('unreachable since');
    expect(r.texts[1]).toContain('21 files waiting');
    server = { state: 'ok', since: null, reason: null };
    snap = { ...snap, held: [{ mapping: 'photos', reason: null }] };
    n.tick();
    await waitFor(() => r.texts.length === 3);
    expect(r.texts[2]).toContain('answers again');
    await new Promise((res) => setTimeout(res, 100));
    expect(r.texts).toHaveLength(3);
  });

  it('retries a webhook that fails, and gives up after a few tries without blocking the caller', async () => {
    const r = await receiver(2);
    closers.push(r.close);
    const now = 1;
    let snap = empty;
    const n = notifier(r.url, { snap: () => snap, now: () => now, everyMinutes: 0 });
    snap = { ...empty, failed: [{ mapping: 'm', path: 'a', error: 'e', code: 'X', at: 2 }] };
    n.tick(); // the send runs on its own; two 500s are ridden out
    await waitFor(() => r.texts.length === 1);
    const dead = await receiver(100);
    closers.push(dead.close);
    let gaveUp = false;
    const m = new WebhookNotifier({
      settings: { webhook: dead.url, headers: {}, everyMinutes: 0, afterMinutes: 0 },
      snapshot: () => snap,
      server: () => ({ state: 'ok', since: null, reason: null }),
      now: () => 1,
      logger: {
        ...silentLogger,
        warn: () => {
          gaveUp = true;
        },
      } as unknown as typeof silentLogger,
      retryDelaysMs: [5, 5],
    });
    snap = { ...empty, failed: [{ mapping: 'm', path: 'b', error: 'e', code: 'X', at: 3 }] };
    m.tick();
    await waitFor(() => gaveUp);
  });
});

describe('notify.webhook in the daemon', () => {
  let world: World | undefined;
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    await world?.close();
    daemon = undefined;
    world = undefined;
  });

  it('reports a file the server refuses, with its reason, and never shows the webhook URL in the log', async () => {
    const r = await receiver();
    closers.push(r.close);
    world = await World.create({ extra: { notify: { webhook: r.url, everyMinutes: 0 } } });
    daemon = world.startDaemon();
    await daemon.waitForLog((l) => l.msg === 'squidex-sync is running');
    world.write('   ', 'Squidex refuses a name of blanks'); // 400 "File name is not defined.": failed at once
    await waitFor(
      () => r.texts.find((t) => t.includes('failed')),
      30_000,
      () => daemon!.stdout.slice(-2000),
    );
    expect(r.texts.find((t) => t.includes('failed'))).toMatch(/File name is not defined/);
    expect(daemon.stdout).not.toContain('secret-part');
  });
});
