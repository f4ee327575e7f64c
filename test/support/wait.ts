/** Polling without the world's imports, for unit tests too. */

/** Polls `probe` every 50 ms until it returns something truthy; bounded by timeoutMs. */
export async function waitFor<T>(
  probe: () => T | undefined | null | false,
  timeoutMs = 20_000,
  why: () => string = () => 'condition not met',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${why()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
