/**
 * Callbacks for a signal's abort, with one 'abort' listener per signal
 * whatever the number of callers. A request or a job's wait listened to its
 * signal and let go of it again, each time through the signal's EventTarget;
 * on loopback those listeners showed in profiles of a first sync (issue 21),
 * and a signal shared by many jobs would collect one listener per waiter
 * (and Node's warning about a leak past ten). Here a waiter costs a Set entry.
 */
type Callback = () => void;

const callbacks = new WeakMap<AbortSignal, Set<Callback>>();

/**
 * Calls `cb` once, when `signal` aborts, unless `forgetAbort` came first.
 * As with addEventListener, nothing is called for a signal that has already
 * aborted: the caller looks at `signal.aborted` first.
 */
export function whenAborted(signal: AbortSignal, cb: Callback): void {
  if (signal.aborted) return;
  let set = callbacks.get(signal);
  if (!set) {
    const created = new Set<Callback>();
    set = created;
    callbacks.set(signal, created);
    signal.addEventListener('abort', () => fire(signal, created), { once: true });
  }
  set.add(cb);
}

/** `cb` is not called any more (a no-op if it was, or never was registered). */
export function forgetAbort(signal: AbortSignal, cb: Callback): void {
  callbacks.get(signal)?.delete(cb);
}

function fire(signal: AbortSignal, set: Set<Callback>): void {
  callbacks.delete(signal);
  const due = [...set];
  set.clear();
  for (const cb of due) {
    try {
      cb();
    } catch (e) {
      // As a throwing event listener does: reported as uncaught, the others still called.
      process.nextTick(() => {
        throw e;
      });
    }
  }
}

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
    whenAborted(signal, onAbort);
    work.then(
      (v) => {
        forgetAbort(signal, onAbort);
        resolve(v);
      },
      (e: unknown) => {
        forgetAbort(signal, onAbort);
        reject(e);
      },
    );
  });
}
