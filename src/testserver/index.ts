/** The Squidex-compatible in-memory test server (docs/ARCHITECTURE.md, "testserver"; behaviour notes in README.md). */
import { start } from './server.js';
import type { TestServer, TestServerOptions } from './types.js';

export type { FaultSettings, Inspection, InspectedAsset, InspectedFolder, Counters, TestServer, TestServerOptions } from './types.js';
/** All faults off: `setFaults(NO_FAULTS)` ends a fault phase of a test. */
export { NO_FAULTS } from './types.js';
export { prng } from './faults.js';

/** Starts the server on 127.0.0.1 (port 0 by default); `close()` stops it and drops every connection. */
export function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  return start(opts);
}
