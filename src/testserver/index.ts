/** The Squidex-compatible in-memory test server (docs/ARCHITECTURE.md, "testserver"). */
import { start } from './server.js';
import type { TestServer, TestServerOptions } from './types.js';

export type { FaultSettings, Inspection, InspectedAsset, InspectedFolder, Counters, TestServer, TestServerOptions } from './types.js';
export { ROOT_ID, NO_FAULTS } from './types.js';
export { fileHashOf } from './store.js';

/** Starts the server on 127.0.0.1 (port 0 by default); `close()` stops it and drops every connection. */
export function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  return start(opts);
}
