/**
 * Resolves after `ms`, when `signal` aborts, or when `woken` resolves, whichever comes first; never rejects.
 *
 * Without `woken` it is a plain abortable delay. (A shared never-settling promise in its place would keep a
 * reaction, and everything it holds, for every wait ever made: measured, 800 bytes a wait.)
 */
export function waitFor(ms: number, signal?: AbortSignal, woken?: Promise<void>): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
    if (woken) void woken.then(done);
  });
}
