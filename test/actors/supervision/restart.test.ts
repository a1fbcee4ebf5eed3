import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/testing/manual-clock.js';
import { allowRestart, backoffDelay, type BackoffState } from '../../../src/actors/supervision/restart.js';

const window = { maxRestarts: 3, windowMs: 1000, backoff: null };
const backoff = { minMs: 100, maxMs: 1000, jitter: 0.5, resetAfterMs: 500 };

describe('allowRestart without a backoff (a sliding window)', () => {
  it('allows maxRestarts within the window, then refuses', () => {
    const clock = new ManualClock();
    const restarts: number[] = [];
    const seen: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(allowRestart(window, restarts, null, clock.now(), true));
      clock.advance(100);
    }
    expect(seen).toEqual([true, true, true, false]);
    expect(restarts).toHaveLength(3);
  });

  it('forgets restarts older than the window', () => {
    const clock = new ManualClock();
    const restarts: number[] = [];
    for (let i = 0; i < 3; i++) expect(allowRestart(window, restarts, null, clock.now(), true)).toBe(true);
    clock.advance(1001);
    expect(allowRestart(window, restarts, null, clock.now(), true)).toBe(true);
    expect(restarts).toEqual([1001]);
  });

  it('allows none with maxRestarts 0', () => {
    expect(allowRestart({ ...window, maxRestarts: 0 }, [], null, 0, true)).toBe(false);
  });
});

describe('allowRestart with a backoff (failures in a row)', () => {
  const policy = { maxRestarts: 2, windowMs: 1000, backoff };
  const streak = (): BackoffState => ({ inARow: 0, runningSince: 0, timer: null });

  it('counts failures in a row and refuses past maxRestarts, however far apart in time', () => {
    const s = streak();
    const restarts: number[] = [];
    // Failures while starting again (not running) never end a streak.
    expect(allowRestart(policy, restarts, s, 0, false)).toBe(true);
    expect(allowRestart(policy, restarts, s, 10_000, false)).toBe(true);
    expect(allowRestart(policy, restarts, s, 20_000, false)).toBe(false);
    expect(s.inARow).toBe(2);
  });

  it('ends a streak once the actor ran resetAfterMs without failing', () => {
    const s = streak();
    const restarts: number[] = [];
    expect(allowRestart(policy, restarts, s, 0, true)).toBe(true);
    expect(allowRestart(policy, restarts, s, 10, true)).toBe(true);
    s.runningSince = 100;
    expect(allowRestart(policy, restarts, s, 599, true)).toBe(false); // ran 499 ms: still the same streak
    s.runningSince = 1000;
    expect(allowRestart(policy, restarts, s, 1500, true)).toBe(true); // ran 500 ms: a new streak
    expect(s.inARow).toBe(1);
  });
});

describe('backoffDelay', () => {
  it('doubles from minMs per restart in a row, capped at maxMs', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(backoff, n, 0))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('adds up to jitter times the delay, by the random draw', () => {
    expect(backoffDelay(backoff, 2, 0.5)).toBe(250);
    expect(backoffDelay(backoff, 6, 0.999)).toBeCloseTo(1499.5);
  });
});
