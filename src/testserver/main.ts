#!/usr/bin/env node
/**
 * `npm run fake-squidex`: the test server as a process.
 * The first stdout line is always one JSON object {url, app, clientId, clientSecret}, so a parent
 * process (benchmarks, the demo) can read it; human-readable lines follow.
 */
import { parseArgs } from 'node:util';
import { startTestServer } from './index.js';

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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'max-upload': { type: 'string' },
      'no-keep-bytes': { type: 'boolean', default: false },
      'no-tus': { type: 'boolean', default: false },
      'proxy-max-body': { type: 'string' },
      seed: { type: 'string' },
      'token-lifetime': { type: 'string' },
      app: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
    },
    strict: true,
  });
  const server = await startTestServer({
    port: intOption(values.port, 'port'),
    maxUploadBytes: intOption(values['max-upload'], 'max-upload'),
    keepBytes: !values['no-keep-bytes'],
    tus: !values['no-tus'],
    proxyMaxBodyBytes: intOption(values['proxy-max-body'], 'proxy-max-body'),
    seed: intOption(values.seed, 'seed'),
    tokenLifetimeSec: intOption(values['token-lifetime'], 'token-lifetime'),
    app: values.app,
    clientId: values['client-id'],
    clientSecret: values['client-secret'],
  });
  const { url, app, clientId, clientSecret } = server;
  process.stdout.write(`${JSON.stringify({ url, app, clientId, clientSecret })}\n`);
  process.stdout.write(
    `fake Squidex listening on ${url}\n  app:          ${app}\n  clientId:     ${clientId}\n  clientSecret: ${clientSecret}\n` +
      `  inspect:      ${url}/_test/inspect\n  Stop with Ctrl+C.\n`,
  );
  const stop = () => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`fake-squidex: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 2 : 1);
});
