import { existsSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { describeError, SyncError } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { printable as p } from '../lib/printable.js';
import { ROOT_FOLDER_ID, type SquidexClient } from '../squidex/index.js';
import { TusProtocol } from '../squidex/tus.js';
import { openState } from '../state/index.js';
import { rememberedChunk } from '../worker/bigupload.js';
import { EXIT } from './exit.js';
import { clientFor, readConfig, serverKey } from './runtime.js';
import { formatBytes } from '../lib/units.js';

/**
 * `squidex-sync check`: config valid, token granted, app reachable, and
 * where each mapping's remote folder is (or that it will be created). It
 * creates nothing.
 */
export async function check(configFile: string): Promise<number> {
  const config = readConfig(configFile, 'error');
  console.log(`config ${p(config.file)}: valid (${config.mappings.length} mapping${config.mappings.length === 1 ? '' : 's'})`);
  for (const w of config.warnings) console.log(`  warning: ${p(w.message)}`);
  const client = clientFor(config, createLogger({ level: 'silent' }));
  try {
    try {
      await client.token();
    } catch (e) {
      // A refused connection is not a refused token: say that the server cannot be reached.
      const net = networkCode(e);
      if (net)
        throw new SyncError((e as SyncError).code, `cannot reach Squidex at ${config.squidex.url} (${net}).`, {
          cause: e,
          hint: 'Check squidex.url, the network, and that Squidex is running.',
        });
      throw unreachable(e, `Squidex at ${config.squidex.url} did not grant a token`);
    }
    console.log(`token: granted by ${p(config.squidex.url)}${config.squidex.clientId ? ` for client ${p(config.squidex.clientId)}` : ''}`);
    try {
      await client.listFolders(ROOT_FOLDER_ID);
    } catch (e) {
      if (e instanceof SyncError && e.code === 'NOT_FOUND') {
        throw new SyncError(
          'APP_NOT_FOUND',
          `App "${config.squidex.app}" was not found on ${config.squidex.url}, or this client has no access to it.`,
          {
            cause: e,
            hint: 'Check squidex.app and that the client belongs to that app.',
          },
        );
      }
      throw unreachable(e, `cannot list the asset folders of app "${config.squidex.app}"`);
    }
    console.log(`app: ${p(config.squidex.app)} reachable`);
    console.log(p(await tusLine(client, config)));
    for (const m of config.mappings) {
      const where = await lookup(client, m.remote);
      console.log(`mapping ${p(m.name)}: ${p(m.local)} → ${p(m.remote || '/')} ${p(where)}`);
    }
    return EXIT.OK;
  } finally {
    await client.close();
  }
}

/** Does the server speak tus (OPTIONS, which creates nothing), and which pieces will big files go in? */
async function tusLine(client: SquidexClient, config: Config): Promise<string> {
  const { chunkBytes, tusAboveBytes } = config.upload;
  let probe: Awaited<ReturnType<TusProtocol['probe']>>;
  try {
    probe = await new TusProtocol(client).probe();
  } catch (e) {
    return `tus: could not ask (${describeError(e)}); big files try tus first and fall back to one request`;
  }
  if (!probe.tus) {
    return `tus: no (OPTIONS …/assets/tus answered HTTP ${probe.status}, an older Squidex): every file goes as one request, and files over the server's per-request limit (assets:maxSize, 5 MiB by default) cannot be uploaded`;
  }
  const chunk = rememberedChunkOf(config) ?? chunkBytes;
  const why = chunk < chunkBytes ? ` (halved after HTTP 413 from this server; upload.chunkBytes is ${formatBytes(chunkBytes)})` : '';
  return `tus: yes: files over ${formatBytes(tusAboveBytes)} go in resumable pieces of ${formatBytes(chunk)}${why}`;
}

/** The chunk size this state remembers for the server, without creating a state file. */
function rememberedChunkOf(config: Config): number | undefined {
  if (!existsSync(config.state)) return undefined;
  try {
    const state = openState(config.state, { recover: false, verify: false });
    try {
      return rememberedChunk(state.meta, serverKey(config), config.upload.chunkBytes);
    } finally {
      state.close();
    }
  } catch {
    return undefined;
  }
}

async function lookup(client: SquidexClient, remote: string): Promise<string> {
  let parent = ROOT_FOLDER_ID;
  const segments = remote.split('/').filter(Boolean);
  if (segments.length === 0) return '(app root)';
  for (const [i, name] of segments.entries()) {
    const found = (await client.listFolders(parent)).find((f) => f.folderName === name);
    if (!found) {
      const missing = segments.slice(i).map((_, j) => `"${segments.slice(0, i + j + 1).join('/')}"`);
      return `(does not exist yet; will create the asset folder${missing.length === 1 ? '' : 's'} ${missing.join(', ')})`;
    }
    parent = found.id;
  }
  return `(folder id ${parent})`;
}

/** ECONNREFUSED, ENOTFOUND, a timeout…: the low-level reason a request never got an answer, if that is what happened. */
function networkCode(e: unknown): string | undefined {
  if (!(e instanceof SyncError) || (e.code !== 'NETWORK' && e.code !== 'TIMEOUT')) return undefined;
  const seen = new Set<unknown>();
  for (let cur: unknown = e.cause; cur && typeof cur === 'object' && !seen.has(cur); cur = (cur as { cause?: unknown }).cause) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  }
  return e.code === 'TIMEOUT' ? 'no answer in time' : 'connection failed';
}

function unreachable(e: unknown, what: string): SyncError {
  if (
    e instanceof SyncError &&
    (e.code === 'AUTH_FAILED' || e.code === 'FORBIDDEN' || e.code === 'NETWORK' || e.code === 'TIMEOUT' || e.code === 'TLS')
  ) {
    return new SyncError(e.code, `${what}: ${describeError(e)}`, { cause: e });
  }
  return new SyncError('NETWORK', `${what}: ${describeError(e)}`, { cause: e });
}
