/**
 * `work`, or its signal's reason as soon as the signal aborts (`work` itself goes on).
 * For shared work that takes no signal (a single-flight folder resolve): a caller that
 * is stopping leaves it instead of waiting for a server that may never answer.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
