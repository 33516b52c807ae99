import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppendGroups, type AppendedRow } from '../../src/log/append-groups.js';
import { encodeBatch } from '../../src/log/encode-batch.js';

// The scheduling of group commit alone, on fake timers: every append goes to the same stream, so each group
// holds one append and runs by the caller's own `alone` statement, here a timer. No database is reached (the
// pool is never used: a group of one never runs the group statement).
const NO_POOL = undefined as unknown as pg.Pool;
const STATEMENT = { name: 'unused', text: 'unused' };
const append = { basin: 'b', stream: 's', batch: encodeBatch([{ body: 'x' }]), options: {}, commandId: null };

/** Runs `alone` calls that each take `ms` on the fake clock, counting how many run at once. */
function statements(ms: number | null) {
  let running = 0;
  const counts = { max: 0, done: 0 };
  const alone = () =>
    new Promise<AppendedRow | undefined>((resolve) => {
      running++;
      counts.max = Math.max(counts.max, running);
      if (ms === null) return; // never ends: a statement waiting for a lock
      setTimeout(() => {
        running--;
        counts.done++;
        resolve(undefined);
      }, ms);
    });
  return { alone, counts };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('AppendGroups scheduling', () => {
  it('sends nothing beyond its concurrency while places keep coming free, however long the queue stays', async () => {
    const groups = new AppendGroups(NO_POOL, STATEMENT, { concurrency: 1, maxAppends: 100, stallMs: 20 });
    const { alone, counts } = statements(5);
    const all = Array.from({ length: 30 }, () => groups.run(append, alone));
    await vi.advanceTimersByTimeAsync(30 * 5 + 50); // 150 ms of steady progress, the queue never empty until the end
    await Promise.all(all);
    expect(counts.done).toBe(30);
    expect(counts.max).toBe(1);
  });

  it('sends a waiting append all the same once no place came free for stallMs', async () => {
    const groups = new AppendGroups(NO_POOL, STATEMENT, { concurrency: 1, maxAppends: 100, stallMs: 20 });
    const stuck = statements(null);
    void groups.run(append, stuck.alone); // takes the only place and keeps it
    const next = statements(5);
    const waiting = groups.run(append, next.alone);
    await vi.advanceTimersByTimeAsync(19);
    expect(next.counts.max).toBe(0);
    await vi.advanceTimersByTimeAsync(1 + 5);
    expect(await waiting).toBeUndefined();
    expect(next.counts.done).toBe(1);
  });
});
