// The liveness byte (src/runtime/liveness.ts): live where spawned, gone, at a thread, or on its way
// to one (a move's fence, which may yet be undone). Senders read the last two alike.

import { describe, expect, it } from 'vitest';
import { Liveness, MAX_LOCATED_SLOT, createLivenessTables, inTransitIn } from '../../src/runtime/liveness.js';

describe('the liveness byte', () => {
  it('says where a name lives, whether it is still on its way there, and when it is gone', () => {
    const live = new Liveness(createLivenessTables(3), 1);
    live.reserve(7);
    expect(live.locationOf(1, 7)).toBe(-1); // never moved
    live.moveTo(1, 7, 2, false);
    expect(live.locationOf(1, 7)).toBe(2); // senders send there already
    expect(inTransitIn(live.byteOf(1, 7))).toBe(true);
    live.moveTo(1, 7, 2);
    expect(live.locationOf(1, 7)).toBe(2);
    expect(inTransitIn(live.byteOf(1, 7))).toBe(false);
    for (const slot of [0, 64, MAX_LOCATED_SLOT]) {
      live.moveTo(1, 7, slot, false);
      expect([live.locationOf(1, 7), inTransitIn(live.byteOf(1, 7))]).toEqual([slot, true]);
      live.moveTo(1, 7, slot);
      expect([live.locationOf(1, 7), inTransitIn(live.byteOf(1, 7))]).toEqual([slot, false]);
    }
    expect(() => live.moveTo(1, 7, MAX_LOCATED_SLOT + 1)).toThrow(RangeError);
    live.markGone(1, 7);
    live.moveTo(1, 7, 3); // gone stays gone
    expect(live.locationOf(1, 7)).toBe(-2);
  });
});
