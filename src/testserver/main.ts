#!/usr/bin/env node
/**
 * `npm run fake-squidex`: the test server as a process.
 * The first stdout line is always one JSON object {url, app, clientId, clientSecret}, so a parent
 * process (benchmarks, the demo) can read it; human-readable lines follow.
 */
import { parseArgs } from 'node:util';
import { startTestServer } from './index.js';
import type { FaultSettings } from './types.js';

/** A fixed port, so a config written for a manual run keeps working across restarts. */
export const DEFAULT_PORT = 5055;

const HELP = `fake-squidex: the project's in-memory Squidex, for manual runs and tests

Usage: npm run fake-squidex -- [options]      (or: node dist/testserver/main.js [options])

Server:
  --port N                 port on 127.0.0.1 (default ${DEFAULT_PORT}; 0 = any free port)
  --app NAME               app name (default demo)
  --client-id ID           client id (default demo:sync)
  --client-secret SECRET   client secret (default demo-secret)
  --max-upload BYTES       largest upload accepted, like Squidex's assets:maxSize (default 5242880)
  --token-lifetime SEC     lifetime of issued tokens (default 30 days, as Squidex)
  --no-bulk                answer POST /assets/bulk with 404, like a Squidex without it
  --no-tus                 no tus endpoint, like a Squidex older than 6.6 (POST /_test/tus {"enabled":true} turns it on)
  --proxy-max-body BYTES   a proxy's body limit in front of every route: 413 with nginx's page above it
  --no-keep-bytes          keep only the hash and size of uploads (for gigabytes of benchmarks)
  --seed N                 seed of the fault dice, so a run with faults replays exactly

Faults (also changeable while it runs: POST /_test/faults with the same names in JSON):
  --rate-5xx R             share of requests answered 500/502/503 (0..1)
  --rate-429 R             share of requests answered 429 (0..1)
  --retry-after SEC        Retry-After on those 429s and 503s (default: none, like Squidex)
  --latency MS             delay before every answer
  --latency-spike-rate R   share of requests delayed by --latency-spike more (0..1)
  --latency-spike MS       length of a spike
  --reset-rate R           share of requests whose connection is cut while the body is read (0..1)
  --hang-rate R            share of requests read and never answered (0..1)
  --capacity K             work on at most K requests at once, queue the rest (0 = no limit)
  --service-ms MS          how long each request holds one of those K (default 0)
  --max-rps R              accept R requests per second, answer 429 beyond (with --retry-after if set; 0 = no limit)
  --down                   start unreachable: every connection is cut (POST /_test/faults {"down":false} heals it)
  Token expiry at once: POST /_test/expire-tokens.

  --help                   this text

Prints one JSON line {url, app, clientId, clientSecret} first, then the same for people.
Stop it with Ctrl+C (or SIGTERM).`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
}

function numOption(value: string | undefined, name: string, max = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > max) {
    throw new UsageError(`--${name} must be a number from 0${max === Infinity ? '' : ` to ${max}`}, got '${value}'`);
  }
  return n;
}

/** Fault options → FaultSettings keys; rates are shares from 0 to 1. */
const FAULTS: Array<[option: string, key: keyof FaultSettings, max: number]> = [
  ['rate-5xx', 'rate5xx', 1],
  ['rate-429', 'rate429', 1],
  ['retry-after', 'retryAfterSec', Infinity],
  ['latency', 'latencyMs', Infinity],
  ['latency-spike-rate', 'latencySpikeRate', 1],
  ['latency-spike', 'latencySpikeMs', Infinity],
  ['reset-rate', 'resetRate', 1],
  ['hang-rate', 'hangRate', 1],
  ['capacity', 'capacity', Infinity],
  ['service-ms', 'serviceMs', Infinity],
  ['max-rps', 'maxRequestsPerSecond', Infinity],
];

async function main(): Promise<void> {
  let parsed: { values: Record<string, unknown> };
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        'max-upload': { type: 'string' },
        'no-keep-bytes': { type: 'boolean', default: false },
        'no-bulk': { type: 'boolean', default: false },
        'no-tus': { type: 'boolean', default: false },
        'proxy-max-body': { type: 'string' },
        seed: { type: 'string' },
        'token-lifetime': { type: 'string' },
        app: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        down: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        ...Object.fromEntries(FAULTS.map(([o]) => [o, { type: 'string' as const }])),
      },
      strict: true,
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('. ')[0]}. Run with --help for the options.`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const faults: Partial<FaultSettings> = {};
  for (const [option, key, max] of FAULTS) {
    const v = numOption(str(option), option, max);
    if (v !== undefined) (faults as Record<string, number>)[key] = v;
  }
  if (values.down) faults.down = true;
  const server = await startTestServer({
    port: intOption(str('port'), 'port') ?? DEFAULT_PORT,
    maxUploadBytes: intOption(str('max-upload'), 'max-upload'),
    keepBytes: !values['no-keep-bytes'],
    bulk: !values['no-bulk'],
    tus: !values['no-tus'],
    proxyMaxBodyBytes: intOption(str('proxy-max-body'), 'proxy-max-body'),
    seed: intOption(str('seed'), 'seed'),
    tokenLifetimeSec: intOption(str('token-lifetime'), 'token-lifetime'),
    app: str('app'),
    clientId: str('client-id'),
    clientSecret: str('client-secret'),
    faults,
  });
  // Before the first line: a parent may stop us the moment it has read it.
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const { url, app, clientId, clientSecret } = server;
  process.stdout.write(`${JSON.stringify({ url, app, clientId, clientSecret })}\n`);
  const active = Object.entries(faults).map(([k, v]) => `${k}=${String(v)}`);
  process.stdout.write(
    `fake Squidex listening on ${url}\n  app:          ${app}\n  clientId:     ${clientId}\n  clientSecret: ${clientSecret}\n` +
      (active.length > 0 ? `  faults:       ${active.join(', ')}\n` : '') +
      `  inspect:      ${url}/_test/inspect\n  Stop with Ctrl+C.\n`,
  );
}

main().catch((e: unknown) => {
  const usage = e instanceof UsageError || (e as { name?: string }).name === 'FaultSettingsError';
  const inUse = (e as { code?: string }).code === 'EADDRINUSE';
  const message = inUse
    ? `port ${(e as { port?: number }).port ?? ''} is in use; pick another with --port N (0 = any free port)`
    : e instanceof Error
      ? e.message
      : String(e);
  process.stderr.write(`fake-squidex: ${message}\n`);
  process.exit(usage || inUse ? 2 : 1);
});
