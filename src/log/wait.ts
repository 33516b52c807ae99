/**
 * Resolves when `woken` resolves, after `ms`, or when `signal` aborts, whichever comes first; never rejects.
 */
export function waitFor(woken: Promise<void>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
    void woken.then(done);
  });
}

/** A wake-up that never comes: {@link waitFor}(NEVER, ms, signal) waits out `ms` or the signal. */
export const NEVER = new Promise<void>(() => {});
