import { describe, expect, it } from 'vitest';
import { activePoll, smoothedRate } from '../../src/subscriptions/tail-waiter.js';

/** The rate after looks that each found `found` records over `overMs`, from `rate`. */
function after(looks: number, found: number, overMs: number, rate = 0): number {
  for (let i = 0; i < looks; i++) rate = smoothedRate(rate, found, overMs);
  return rate;
}

describe('activePoll: how an active follower waits between looks', () => {
  it('looks every 10 ms, woken early by appends, while records come slower than 4 a millisecond', () => {
    expect(activePoll(0)).toEqual({ ms: 10, wakeable: true });
    expect(activePoll(after(1000, 10, 10))).toEqual({ ms: 10, wakeable: true }); // 1,000 records a second
    expect(activePoll(after(1000, 39, 10))).toEqual({ ms: 10, wakeable: true });
  });

  it('looks every 40 ms, not woken early, once records have come at 4 a millisecond or faster for a while', () => {
    const steady = after(1000, 60, 10); // 6,000 records a second
    expect(activePoll(steady)).toEqual({ ms: 40, wakeable: false });
    // Within about 100 ms of 10-ms looks, not at the first one.
    expect(activePoll(after(1, 60, 10))).toEqual({ ms: 10, wakeable: true });
    expect(activePoll(after(15, 60, 10))).toEqual({ ms: 40, wakeable: false });
    // And it stays so while its 40-ms looks find as many.
    expect(activePoll(after(100, 240, 40, steady))).toEqual({ ms: 40, wakeable: false });
  });

  it('is not made busy by a burst: records that waited behind an open transaction, found at once', () => {
    const steady = after(1000, 10, 10); // 1,000 a second
    expect(activePoll(smoothedRate(steady, 100, 10))).toEqual({ ms: 10, wakeable: true });
    expect(activePoll(smoothedRate(steady, 300, 3))).toEqual({ ms: 10, wakeable: true });
  });

  it('goes back to 10 ms within two looks once the records stop', () => {
    const steady = after(1000, 240, 40);
    expect(activePoll(after(2, 0, 40, steady))).toEqual({ ms: 10, wakeable: true });
  });

  it('counts a look that took no time as taking a millisecond', () => {
    expect(smoothedRate(0, 5, 0)).toBe(smoothedRate(0, 5, 1));
  });
});
