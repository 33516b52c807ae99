import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../src/log/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('waitFor', () => {
  it('ends at the first of the delay, the signal and the wake-up', async () => {
    const controller = new AbortController();
    const aborted = waitFor(60_000, controller.signal);
    controller.abort();
    await aborted;
    let wake!: () => void;
    const woken = waitFor(60_000, undefined, new Promise<void>((resolve) => (wake = resolve)));
    wake();
    await woken;
    await waitFor(1);
  });

  it('keeps nothing alive once a wait without a wake-up ended', async () => {
    // Waits in a backoff or a poll loop run for as long as a follower does: a wait that left a reaction on a
    // shared promise kept its signal (and closure) forever.
    const signals: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 100; i++) {
      const controller = new AbortController();
      signals.push(new WeakRef(controller.signal));
      await waitFor(0, controller.signal);
    }
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    // The newest may still be held by the timer list it just left; a shared wake-up kept all 100.
    expect(signals.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(1);
  });
});
