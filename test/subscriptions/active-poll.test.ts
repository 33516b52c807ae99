import { describe, expect, it } from 'vitest';
import { activePoll, smoothedRate } from '../../src/subscriptions/tail-waiter.js';

/** How a follower that was not busy waits at `rate`. */
const fromQuiet = (rate: number) => activePoll(rate, false);

/** The rate after looks that each found `found` records over `overMs`, from `rate`. */
function after(looks: number, found: number, overMs: number, rate = 0): number {
  for (let i = 0; i < looks; i++) rate = smoothedRate(rate, found, overMs);
  return rate;
}

const QUICK = { ms: 10, wakeable: true, busy: false };
const BUSY = { ms: 40, wakeable: false, busy: true };

describe('activePoll: how an active follower waits between looks', () => {
  it('looks every 10 ms, woken early by appends, while records come slower than 4 a millisecond', () => {
    expect(fromQuiet(0)).toEqual(QUICK);
    expect(fromQuiet(after(1000, 10, 10))).toEqual(QUICK); // 1,000 records a second
    expect(fromQuiet(after(1000, 39, 10))).toEqual(QUICK);
  });

  it('looks every 40 ms, not woken early, once records have come at 4 a millisecond or faster for a while', () => {
    const steady = after(1000, 60, 10); // 6,000 records a second
    expect(fromQuiet(steady)).toEqual(BUSY);
    // Within about 100 ms of 10-ms looks, not at the first one.
    expect(fromQuiet(after(1, 60, 10))).toEqual(QUICK);
    expect(fromQuiet(after(15, 60, 10))).toEqual(BUSY);
    // And it stays so while its 40-ms looks find as many.
    expect(activePoll(after(100, 240, 40, steady), true)).toEqual(BUSY);
  });

  it('is not made busy by a burst: records that waited behind an open transaction, found at once', () => {
    const steady = after(1000, 10, 10); // 1,000 a second
    expect(fromQuiet(smoothedRate(steady, 100, 10))).toEqual(QUICK);
    expect(fromQuiet(smoothedRate(steady, 300, 3))).toEqual(QUICK);
  });

  it('stays busy while records come at 3 a millisecond or faster, so a rate about 4 does not flip it', () => {
    const steady = after(1000, 180, 40); // 4,500 a second
    expect(activePoll(steady, true)).toEqual(BUSY);
    // Two looks at 3,200 a second, then three at 3,600: busy stays busy; not busy stays not.
    const dipped = after(2, 128, 40, steady);
    expect(dipped).toBeLessThan(4);
    expect(activePoll(dipped, true)).toEqual(BUSY);
    expect(activePoll(after(3, 144, 40, dipped), true)).toEqual(BUSY);
    expect(activePoll(dipped, false)).toEqual(QUICK);
    // Below 3 a millisecond it is back to 10 ms.
    expect(activePoll(after(1000, 110, 40), true)).toEqual(QUICK); // 2,750 a second
  });

  it('goes back to 10 ms within two looks once the records stop', () => {
    const steady = after(1000, 240, 40);
    expect(activePoll(after(2, 0, 40, steady), true)).toEqual(QUICK);
  });

  it('counts a look that took no time as taking a millisecond', () => {
    expect(smoothedRate(0, 5, 0)).toBe(smoothedRate(0, 5, 1));
  });
});
