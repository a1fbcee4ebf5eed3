import { describe, expect, it } from 'vitest';
import { Admit, MailboxBounds, createBoundsTable } from '../../src/runtime/bounds-table.js';

const THREADS = 3;
const SLOTS = 4;
/** Actor keys are seq * SPAN + the spawning thread. */
const SPAN = 8;
const keyOf = (row: number, seq: number): number => seq * SPAN + row;

function setup() {
  const table = createBoundsTable(THREADS, SLOTS);
  // Two views of one table, as two threads would hold them.
  return { spawner: new MailboxBounds(table, THREADS, SPAN), sender: new MailboxBounds(table, THREADS, SPAN) };
}

describe('MailboxBounds', () => {
  it('finds a claimed entry from the actor key alone, on any thread', () => {
    const { spawner, sender } = setup();
    expect(spawner.slotsPerThread).toBe(SLOTS);
    const at = spawner.claim(1, 6, 2, 2);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(sender.entryOf(keyOf(1, 6))).toBe(at);
    expect(sender.entryOf(keyOf(2, 6))).toBe(-1); // another spawner's row
    expect(sender.entryOf(keyOf(1, 7))).toBe(-1); // an actor with no bound
  });

  it('admits up to the capacity, then reports Full until room is released', () => {
    const { spawner, sender } = setup();
    const key = keyOf(0, 1);
    const at = spawner.claim(0, 1, 3, 1);
    expect([1, 2, 3, 4].map(() => sender.tryAcquire(at, key))).toEqual([Admit.Ok, Admit.Ok, Admit.Ok, Admit.Full]);
    spawner.release(at);
    expect(sender.tryAcquire(at, key)).toBe(Admit.Ok);
    expect(sender.tryAcquire(at, key)).toBe(Admit.Full);
  });

  it('counts a message that takes no room check, so the next sender finds it full sooner', () => {
    const { spawner, sender } = setup();
    const key = keyOf(0, 1);
    const at = spawner.claim(0, 1, 2, 1);
    spawner.add(at);
    expect(sender.tryAcquire(at, key)).toBe(Admit.Ok);
    expect(sender.tryAcquire(at, key)).toBe(Admit.Full);
  });

  it('reports Gone once the actor is freed, and entryOf no longer finds it', () => {
    const { spawner, sender } = setup();
    const key = keyOf(2, 3);
    const at = spawner.claim(2, 3, 5, 0);
    spawner.free(at);
    expect(sender.tryAcquire(at, key)).toBe(Admit.Gone);
    expect(sender.entryOf(key)).toBe(-1);
  });

  it('refuses to claim an entry a live actor holds, and reclaims it once freed and the seq has come round', () => {
    const { spawner, sender } = setup();
    const first = spawner.claim(1, 2, 1, 1);
    expect(spawner.claim(1, 2 + SLOTS, 1, 1)).toBe(-1); // same entry, still owned
    spawner.free(first);
    const again = spawner.claim(1, 2 + SLOTS, 4, 2);
    expect(again).toBe(first);
    expect(sender.entryOf(keyOf(1, 2))).toBe(-1); // the old actor's key finds nothing
    expect(sender.entryOf(keyOf(1, 2 + SLOTS))).toBe(again);
    expect(sender.tryAcquire(again, keyOf(1, 2))).toBe(Admit.Gone); // a late sender to the old actor
    expect([1, 2, 3, 4, 5].map(() => sender.tryAcquire(again, keyOf(1, 2 + SLOTS)))).toEqual([Admit.Ok, Admit.Ok, Admit.Ok, Admit.Ok, Admit.Full]);
  });

  it('gives back room taken from an entry that changed hands, and reports Gone', () => {
    const { spawner, sender } = setup();
    const at = spawner.claim(0, 1, 1, 1);
    spawner.free(at);
    spawner.claim(0, 1 + SLOTS, 1, 1);
    // A sender still holding the old actor's key: the depth check passes, the owner check fails.
    expect(sender.tryAcquire(at, keyOf(0, 1))).toBe(Admit.Gone);
    expect(sender.tryAcquire(at, keyOf(0, 1 + SLOTS))).toBe(Admit.Ok); // the room came back
  });

  it('frees every entry hosted by a thread that died, and only those', () => {
    const { spawner, sender } = setup();
    const onTwo = [spawner.claim(0, 1, 1, 2), spawner.claim(1, 1, 1, 2)];
    const onOne = spawner.claim(0, 2, 1, 1);
    sender.freeHostedBy(2);
    expect(onTwo.map((at, row) => sender.tryAcquire(at, keyOf(row, 1)))).toEqual([Admit.Gone, Admit.Gone]);
    expect(sender.tryAcquire(onOne, keyOf(0, 2))).toBe(Admit.Ok);
  });
});
