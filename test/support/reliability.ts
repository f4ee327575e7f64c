/** Small helpers shared by the reliability scenarios (issue 6). */
import { writeFileSync } from 'node:fs';
import { prng } from '../../src/testserver/index.js';
import { checkMirror, expectMirror, type MirrorOptions, type MirrorReport } from './mirror.js';
import type { Daemon, World, WorldOptions } from './world.js';

/** `npm run test:reliability` runs the full-size cases; `npm test` a bounded subset. */
export const FULL = process.env.RELIABILITY === 'full';

/** Settings that let a fault scenario retry within seconds instead of minutes. */
export const FAST_RETRY: WorldOptions['sync'] = {
  stabilityMs: 200,
  debounceMs: 50,
  maxWaitMs: 1000,
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
  maxAttempts: 50,
};

/** The mirror oracle for a World (mapping `share` → `Design/Shared` unless told otherwise). */
export function mirror(w: World, extra: Partial<MirrorOptions> = {}): MirrorReport {
  return expectMirror({
    local: w.local,
    remote: 'Design/Shared',
    mapping: 'share',
    inspection: w.inspect(),
    statePath: w.statePath,
    ...extra,
  });
}

/** mulberry32 (the test server's own), so a failing seed replays. */
export const seeded = prng;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Live, non-deleted assets on the server. */
export function liveCount(w: World): number {
  return w.inspect().assets.filter((a) => !a.deleted).length;
}

/**
 * Waits (bounded) until the server mirrors the tree, checking every 500 ms
 * without the state database (the daemon may still be running); throws the
 * last problems on timeout.
 */
export async function waitMirror(w: World, timeoutMs: number, extra: Partial<MirrorOptions> = {}, d?: Daemon): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    last = checkMirror({ local: w.local, remote: 'Design/Shared', mapping: 'share', inspection: w.inspect(), ...extra }).problems;
    if (last.length === 0) {
      // The server can be right before the state is (a response lost to a reset: the retry
      // is still queued). Done means nothing left to do, as `status` sees it.
      const st = await w.run(['status', '--json'], 30_000);
      const totals = (JSON.parse(st.stdout || '{}') as { totals?: { pending: number } }).totals;
      if (totals && totals.pending === 0) return;
      last = [`server mirrored, but status says ${totals?.pending ?? '?'} pending`];
    }
    if (Date.now() > deadline) break;
    await sleep(500);
  }
  if (d && process.env.SQSYNC_DEBUG_LOG) writeFileSync(process.env.SQSYNC_DEBUG_LOG, d.stdout);
  // The daemon's last warnings say why, far better than the list of missing files alone.
  const log = d
    ? `${d.lines
        .filter((l) => Number(l.level) >= 40)
        .slice(-15)
        .map((l) => JSON.stringify(l))
        .join('\n')}\nstderr: ${d.stderr.slice(-2000)}`
    : '';
  throw new Error(`not mirrored after ${timeoutMs} ms (${last.length} problems):\n  ${last.slice(0, 20).join('\n  ')}\n${log}`);
}
