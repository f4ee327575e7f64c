import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** Helpers for tests that talk to a running daemon's local endpoint (/health, /metrics, /status). */

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

/**
 * A port where nothing listens, for a daemon's `http.port` (`0` means "off" in the
 * config, so the daemon cannot pick one itself) or for "the server is down" tests.
 * It is chosen below Linux's ephemeral range (32768 and up), which is where every
 * `listen(0)` of the other test files lands, so no test server can take it between
 * this check and its use; two tests picking the same one of 12,000 ports at once
 * is the race that remains.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const srv = createServer();
    const free = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    return port;
  }
  throw new Error('no free port found below the ephemeral range in 50 tries');
}

/** A port where nothing listens (see freePort). */
export const closedPort = freePort;

export interface Endpoint {
  readonly base: string;
  /** Status code and parsed body; `null` status when nothing answers yet. */
  health(): Promise<{ status: number | null; body: { ok?: boolean; reasons?: string[] } }>;
  status(): Promise<Record<string, unknown>>;
  /** Parsed Prometheus text: metric name → family. Throws if the text does not parse. */
  metrics(): Promise<Metrics>;
  /** Polls /health until `pred` holds (bounded). */
  waitHealth(
    pred: (status: number | null) => boolean,
    timeoutMs?: number,
  ): Promise<{ status: number | null; body: { ok?: boolean; reasons?: string[] } }>;
}

export class Metrics {
  readonly byName: Map<string, Family>;
  constructor(readonly text: string) {
    this.byName = new Map((parsePrometheusTextFormat(text) as Family[]).map((f) => [f.name, f]));
  }

  /** Value of the first series whose labels include `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const m = this.byName.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
    return m?.value === undefined ? undefined : Number(m.value);
  }

  series(name: string): Family['metrics'] {
    return this.byName.get(name)?.metrics ?? [];
  }
}

/**
 * `stateFile`: the daemon's state database, beside which it keeps the page's
 * access token; /status needs it (health and metrics do not).
 */
export function endpoint(port: number, stateFile?: string): Endpoint {
  const base = `http://127.0.0.1:${port}`;
  const auth = (): Record<string, string> =>
    stateFile ? { authorization: `Bearer ${readFileSync(join(dirname(stateFile), 'web-token'), 'utf8').trim()}` } : {};
  const health: Endpoint['health'] = async () => {
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as { ok?: boolean; reasons?: string[] } };
    } catch {
      return { status: null, body: {} };
    }
  };
  return {
    base,
    health,
    async status() {
      const res = await fetch(`${base}/status`, { headers: auth(), signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`/status answered ${res.status}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async metrics() {
      const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return new Metrics(await res.text());
    },
    async waitHealth(pred, timeoutMs = 20_000) {
      let last: Awaited<ReturnType<Endpoint['health']>> = { status: null, body: {} };
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        last = await health();
        if (pred(last.status)) return last;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`/health never matched; last answer ${last.status} ${JSON.stringify(last.body)}`);
    },
  };
}

/** Polls an async probe (every 100 ms, bounded) until it returns something truthy. */
export async function waitForAsync<T>(
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  why: () => string = () => 'condition not met',
): Promise<T> {
  let value: T | undefined | null | false;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${why()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `status --json` / `/status` without the fields that depend on when they were read. */
export function withoutTiming(report: unknown): unknown {
  return JSON.parse(JSON.stringify(report), (key, v) => (key === 'nextRunAt' || key === 'at' ? undefined : v));
}
