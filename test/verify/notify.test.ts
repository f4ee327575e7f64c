import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/lib/log.js';
import { WebhookNotifier, type NotifySnapshot } from '../../src/service/notify.js';
import { waitFor } from '../support/world.js';

/** notify.webhook tells about changes made in Squidex that the daemon's verify found (issue 20). */

type Drift = NonNullable<NotifySnapshot['drift']>;

function notifier(snap: () => NotifySnapshot, texts: string[]): WebhookNotifier {
  return new WebhookNotifier({
    settings: { webhook: 'http://127.0.0.1:9/never-called', headers: {}, everyMinutes: 15, afterMinutes: 10 },
    snapshot: snap,
    server: () => ({ state: 'ok', since: null, reason: null }),
    now: () => 0,
    logger: silentLogger,
    post: async (text) => void texts.push(text),
  });
}

const item = (path: string, kind: string, detail: string) => ({ mapping: 'share', path, kind, assetId: `id-${path}`, detail });

describe('notify.webhook and drift', () => {
  it('tells once about each new difference, names files and kinds, and counts unknown assets', async () => {
    const texts: string[] = [];
    let drift: Drift = { mode: 'report', items: [item('old.txt', 'missing', 'deleted in Squidex')] };
    const n = notifier(() => ({ failed: [], held: [], waiting: 0, drift }), texts);
    n.tick(); // what was listed before this start is not news
    expect(texts).toEqual([]);

    drift = {
      mode: 'report',
      items: [
        ...drift.items,
        item('a.txt', 'missing', 'deleted in Squidex'),
        item('b.txt', 'moved', 'moved to the app root, outside the mapping'),
        item('Design/Shared/ui.png', 'unknown', 'in a mapped folder, not from the share; never deleted'),
      ],
    };
    n.tick();
    n.tick();
    await waitFor(() => texts.length === 1, 5000);
    expect(texts[0]).toContain('2 assets were changed in Squidex and left as they are (sync.serverChanges: report)');
    expect(texts[0]).toContain('• share: a.txt — missing: deleted in Squidex');
    expect(texts[0]).toContain('• share: b.txt — moved: moved to the app root, outside the mapping');
    expect(texts[0]).toContain('1 asset in mapped folders not from the share (listed, never deleted).');
    expect(texts[0]).not.toContain('old.txt');

    // Under restore only what could not be put back is listed.
    drift = { mode: 'restore', items: [item('c.txt', 'content', 'its content was replaced in Squidex')] };
    n.tick();
    await waitFor(() => texts.length === 2, 5000);
    expect(texts[1]).toMatch(/^squidex-sync: 1 change made in Squidex could not be put back/);
  });
});
