import { existsSync } from 'node:fs';
import type { Config } from '../config/index.js';
import { describeError, SyncError } from '../lib/errors.js';
import { createLogger } from '../lib/log.js';
import { ROOT_FOLDER_ID, type SquidexClient } from '../squidex/index.js';
import { TusProtocol } from '../squidex/tus.js';
import { openState } from '../state/index.js';
import { rememberedChunk } from '../worker/bigupload.js';
import { EXIT } from './exit.js';
import { clientFor, readConfig, serverKey } from './runtime.js';
import { human } from './status.js';

/**
 * `squidex-sync check`: config valid, token granted, app reachable, and
 * where each mapping's remote folder is (or that it will be created). It
 * creates nothing.
 */
export async function check(configFile: string): Promise<number> {
  const config = readConfig(configFile, 'error');
  console.log(`config ${config.file}: valid (${config.mappings.length} mapping${config.mappings.length === 1 ? '' : 's'})`);
  for (const w of config.warnings) console.log(`  warning: ${w.message}`);
  const client = clientFor(config, createLogger({ level: 'silent' }));
  try {
    try {
      await client.token();
    } catch (e) {
      throw unreachable(e, `Squidex at ${config.squidex.url} did not grant a token`);
    }
    console.log(`token: granted by ${config.squidex.url}${config.squidex.clientId ? ` for client ${config.squidex.clientId}` : ''}`);
    try {
      await client.listFolders(ROOT_FOLDER_ID);
    } catch (e) {
      if (e instanceof SyncError && e.code === 'NOT_FOUND') {
        throw new SyncError('APP_NOT_FOUND', `App "${config.squidex.app}" was not found on ${config.squidex.url}, or this client has no access to it.`, {
          cause: e,
          hint: 'Check squidex.app and that the client belongs to that app.',
        });
      }
      throw unreachable(e, `cannot list the asset folders of app "${config.squidex.app}"`);
    }
    console.log(`app: ${config.squidex.app} reachable`);
    console.log(await tusLine(client, config));
    for (const m of config.mappings) {
      const where = await lookup(client, m.remote);
      console.log(`mapping ${m.name}: ${m.local} → ${m.remote || '/'} ${where}`);
    }
    return EXIT.OK;
  } finally {
    await client.close();
  }
}

/** Does the server speak tus (OPTIONS, which creates nothing), and which pieces will big files go in? */
async function tusLine(client: SquidexClient, config: Config): Promise<string> {
  const { chunkBytes, tusAboveBytes } = config.upload;
  let probe;
  try {
    probe = await new TusProtocol(client).probe();
  } catch (e) {
    return `tus: could not ask (${describeError(e)}); big files try tus first and fall back to one request`;
  }
  if (!probe.tus) {
    return `tus: no (OPTIONS …/assets/tus answered HTTP ${probe.status}, an older Squidex): every file goes as one request, and files over the server's per-request limit (assets:maxSize, 5 MiB by default) cannot be uploaded`;
  }
  const chunk = rememberedChunkOf(config) ?? chunkBytes;
  const why = chunk < chunkBytes ? ` (halved after HTTP 413 from this server; upload.chunkBytes is ${human(chunkBytes)})` : '';
  return `tus: yes: files over ${human(tusAboveBytes)} go in resumable pieces of ${human(chunk)}${why}`;
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
    if (!found) return `(folder "${segments.slice(0, i + 1).join('/')}" does not exist yet; it will be created)`;
    parent = found.id;
  }
  return `(folder id ${parent})`;
}

function unreachable(e: unknown, what: string): SyncError {
  if (e instanceof SyncError && (e.code === 'AUTH_FAILED' || e.code === 'FORBIDDEN' || e.code === 'NETWORK' || e.code === 'TIMEOUT' || e.code === 'TLS')) {
    return new SyncError(e.code, `${what}: ${describeError(e)}`, { cause: e });
  }
  return new SyncError('NETWORK', `${what}: ${describeError(e)}`, { cause: e });
}
