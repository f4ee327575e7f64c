import { expect } from 'vitest';
import type { Daemon, WorldOptions } from './world.js';

/** What a log line says. */
export const msg = (l: Record<string, unknown>): string => String(l.msg ?? '');

/** Requests the test server reads and never answers while `on`, counted in `asked`. */
export function hangs(match: (method: string, path: string) => boolean): { on: boolean; asked: number; server: WorldOptions['server'] } {
  const h = {
    on: false,
    asked: 0,
    server: {
      onRequest: (method: string, path: string): Promise<void> | undefined => {
        if (!h.on || !match(method, path)) return undefined;
        h.asked += 1;
        return new Promise<void>(() => undefined);
      },
    },
  };
  return h;
}

/** SIGINT, and the stop ends by itself: exit 0, "stopped", no hard stop. */
export async function stopsCleanly(daemon: Daemon): Promise<string[]> {
  const code = await daemon.stop('SIGINT', 30_000);
  expect(code, daemon.stdout.slice(-3000) + daemon.stderr).toBe(0);
  const said = daemon.lines.map(msg);
  expect(
    said.filter((m) => m.startsWith('stopping took more than')),
    daemon.stdout.slice(-3000),
  ).toEqual([]);
  expect(said).toContain('stopped');
  return said;
}
