import { describe, expect, it } from 'vitest';
import { activePoll } from '../../src/subscriptions/tail-waiter.js';

describe('activePoll: how an active follower waits between looks', () => {
  it('looks every 10 ms, woken early by appends, while records come slower than 4 a millisecond', () => {
    expect(activePoll(0, 10)).toEqual({ ms: 10, wakeable: true });
    expect(activePoll(10, 10)).toEqual({ ms: 10, wakeable: true }); // 1,000 records a second
    expect(activePoll(39, 10)).toEqual({ ms: 10, wakeable: true });
  });

  it('looks every 40 ms, not woken early, while records come at 4 a millisecond or faster', () => {
    expect(activePoll(40, 10)).toEqual({ ms: 40, wakeable: false }); // 4,000 records a second
    expect(activePoll(160, 20)).toEqual({ ms: 40, wakeable: false });
    expect(activePoll(2000, 3)).toEqual({ ms: 40, wakeable: false }); // a full page read at once
  });

  it('counts a look that took no time as taking a millisecond', () => {
    expect(activePoll(3, 0)).toEqual({ ms: 10, wakeable: true });
    expect(activePoll(4, 0)).toEqual({ ms: 40, wakeable: false });
  });
});
