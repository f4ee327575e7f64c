import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, util } from 'undici';

/**
 * The two pieces of undici the client uses, without its index. The index loads
 * all of undici (fetch, WebSocket, EventSource, caches, mocks, proxy agents,
 * interceptors): about two thirds of its load time, which every command pays
 * on its main thread before its first request. Both are the objects the index
 * exports (test/squidex/undici.test.ts holds them to it); should a release move
 * these files, the index is loaded instead, slower but the same.
 */
const require = createRequire(import.meta.url);

interface Pieces {
  Agent: typeof UndiciAgent;
  parseHeaders: typeof util.parseHeaders;
}

function load(): Pieces {
  try {
    return {
      Agent: require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent,
      parseHeaders: (require('undici/lib/core/util.js') as { parseHeaders: Pieces['parseHeaders'] }).parseHeaders,
    };
  } catch {
    const undici = require('undici') as typeof import('undici');
    return { Agent: undici.Agent, parseHeaders: undici.util.parseHeaders };
  }
}

const pieces = load();
export const Agent = pieces.Agent;
export type Agent = UndiciAgent;
export const parseHeaders = pieces.parseHeaders;
