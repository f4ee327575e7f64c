/**
 * Tests that need something of the machine (root, setpriv, user namespaces,
 * openssl, mount) skip where it is missing, on a developer's laptop. Under
 * .ci/run (SQUIDEX_SYNC_CI=1) a missing one fails the test file instead: CI
 * installs what they need, and a skip there would hide a test nobody runs.
 */
export function missing(isMissing: boolean, what: string): boolean {
  if (isMissing && process.env.SQUIDEX_SYNC_CI === '1') {
    throw new Error(`CI must run this test, but what it needs is missing here (${what}): install it in .ci/run`);
  }
  return isMissing;
}
