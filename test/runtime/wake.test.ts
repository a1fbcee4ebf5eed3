import { describe, expect, it } from 'vitest';
import { CTL_BELL, CTL_I32, CTL_PARKED } from '../../src/runtime/layout.js';
import { Bell } from '../../src/runtime/wake.js';

/** Thread 1's bell in a two-thread control block, and its words. */
function setup() {
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_I32 * 4 * 2));
  const base = CTL_I32;
  return { bell: new Bell(ctl, base), words: () => ({ parked: ctl[base + CTL_PARKED], bell: ctl[base + CTL_BELL] }) };
}

/** Resolves with 'woke' if `p` settles within a few event-loop turns, else 'asleep'. */
async function settles(p: Promise<void>): Promise<'woke' | 'asleep'> {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done ? 'woke' : 'asleep';
}

describe('Bell', () => {
  it('does nothing when rung while its owner runs', () => {
    const { bell, words } = setup();
    bell.ring();
    expect(words()).toEqual({ parked: 0, bell: 0 });
  });

  it('wakes a parked owner, and clears its parked flag', async () => {
    const { bell, words } = setup();
    const parked = bell.park(bell.prepareToPark());
    expect(words().parked).toBe(1);
    expect(await settles(parked)).toBe('asleep');
    bell.ring();
    expect(await settles(parked)).toBe('woke');
    expect(words()).toEqual({ parked: 0, bell: 1 });
  });

  it('loses no ring that comes between announcing the park and sleeping', async () => {
    const { bell, words } = setup();
    const value = bell.prepareToPark();
    bell.ring(); // the producer saw PARKED and rang before the owner slept
    expect(await settles(bell.park(value))).toBe('woke');
    expect(words().parked).toBe(0);
  });

  it('rings once for any number of ringers', () => {
    const { bell, words } = setup();
    bell.prepareToPark();
    bell.ring();
    bell.ring();
    bell.ring();
    expect(words()).toEqual({ parked: 0, bell: 1 });
  });

  it('does not ring an owner that withdrew its park', () => {
    const { bell, words } = setup();
    bell.prepareToPark();
    bell.cancelPark();
    bell.ring();
    expect(words()).toEqual({ parked: 0, bell: 0 });
  });

  it('keeps the event loop running while parked', async () => {
    const { bell } = setup();
    const parked = bell.park(bell.prepareToPark());
    await new Promise((resolve) => setImmediate(resolve)); // the event loop turns meanwhile
    bell.ring();
    await parked;
  });
});
