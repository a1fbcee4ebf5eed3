// The only home of Atomics.waitAsync/notify. A thread parks on the BELL word of its control block;
// a producer rings the bell only when it flips the consumer's PARKED flag from 1 to 0.
//
// Why no wake-up is lost (a Dekker handshake over sequentially consistent atomics):
//   consumer: b = load(BELL); store(PARKED, 1); re-check every inbound ring and local queue;
//             if empty, waitAsync(BELL, b).
//   producer: store(W) (publish); if load(PARKED) == 1 and CAS(PARKED, 1 -> 0) succeeds,
//             add(BELL, 1) and notify(BELL).
// Both sides store, then load, in one total order. Either the consumer's re-check sees the
// producer's W (and it does not sleep), or the producer sees PARKED == 1 (and rings). If the bell
// rings between load(BELL) and waitAsync, BELL != b and waitAsync returns 'not-equal' at once.
// A stray bell (the consumer woke for another reason) costs one empty turn, nothing more.

import { CTL_BELL, CTL_PARKED } from './layout.js';

export class Bell {
  readonly #ctl: Int32Array;
  readonly #base: number;

  constructor(ctl: Int32Array, base: number) {
    this.#ctl = ctl;
    this.#base = base;
  }

  /** Producer side: wake the owner if it is parked. Costs one load while it runs. */
  ring(): void {
    const ctl = this.#ctl;
    const parked = this.#base + CTL_PARKED;
    // Atomics.load/compareExchange: only the producer that flips PARKED 1 -> 0 rings.
    if (Atomics.load(ctl, parked) === 1 && Atomics.compareExchange(ctl, parked, 1, 0) === 1) {
      // Atomics.add then notify: change the word so a waiter that has not yet slept sees 'not-equal'.
      Atomics.add(ctl, this.#base + CTL_BELL, 1);
      Atomics.notify(ctl, this.#base + CTL_BELL, 1);
    }
  }

  /** How often the bell has been rung (it wraps): a look from another thread, as the wake-up audit's (wake-audit.ts). */
  rings(): number {
    return Atomics.load(this.#ctl, this.#base + CTL_BELL);
  }

  /** Consumer side, step 1-2: read the bell, announce the intent to park. Returns the bell value. */
  prepareToPark(): number {
    // Atomics.load: the value waitAsync compares against.
    const bell = Atomics.load(this.#ctl, this.#base + CTL_BELL);
    // Atomics.store: publish PARKED before re-checking the rings (the Dekker store).
    Atomics.store(this.#ctl, this.#base + CTL_PARKED, 1);
    return bell;
  }

  /** Consumer side: the re-check found work; withdraw the intent. */
  cancelPark(): void {
    Atomics.store(this.#ctl, this.#base + CTL_PARKED, 0);
  }

  /** Consumer side, step 4: sleep until rung. Keeps the event loop running meanwhile. */
  async park(bell: number): Promise<void> {
    const result = Atomics.waitAsync(this.#ctl, this.#base + CTL_BELL, bell);
    if (result.async) await result.value;
    // Atomics.store: we are awake (a ringer already cleared it; a 'not-equal' return did not).
    Atomics.store(this.#ctl, this.#base + CTL_PARKED, 0);
  }
}
