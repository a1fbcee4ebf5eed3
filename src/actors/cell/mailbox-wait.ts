// Mailbox wait, sampled at wake-ups: when a message arrives in an idle actor's empty mailbox and
// wakes it, one wake-up in SAMPLE_EVERY on the thread is stamped with the clock, and when that
// actor's next batch starts (its first handler: that message's), the time since goes into the
// thread's mailbox-wait histogram. So it measures how long a message that wakes an actor waits
// for the thread to get to it: the queueing delay of the thread, which grows as the thread falls
// behind. (A message that arrives behind others in a busy actor's mailbox also waits for those:
// that part is the actor's own backlog, which its mailbox depth shows.) Nothing is paid per
// message: a count per wake-up, and one sample in flight at a time per thread. Counting every
// message instead cost a same-thread tell a fifth of its rate.

import type { Clock } from '../../runtime/clock.js';
import { observe } from '../../runtime/histogram.js';
import { HIST_MAILBOX_WAIT } from '../../runtime/layout.js';

/** One wake-up in this many is timed (a power of two): two clock reads each. */
export const SAMPLE_EVERY = 64;

export class MailboxWait {
  readonly #clock: Clock;
  readonly #histograms: Float64Array;
  #wakeUps = 0;
  /** The actor whose wake-up is being timed (one at a time), and when it woke. */
  #timing: object | null = null;
  #wokeAt = 0;

  constructor(clock: Clock, histograms: Float64Array) {
    this.#clock = clock;
    this.#histograms = histograms;
  }

  /** `actor` was woken by a message just now (its mailbox was empty): one in SAMPLE_EVERY is timed. */
  woke(actor: object): void {
    if ((++this.#wakeUps & (SAMPLE_EVERY - 1)) !== 0 || this.#timing !== null) return;
    this.#timing = actor;
    this.#wokeAt = this.#clock.now();
  }

  /** `actor`'s batch starts now: if its wake-up was timed, its wait is counted. */
  running(actor: object): void {
    if (this.#timing !== actor) return;
    this.#timing = null;
    observe(this.#histograms, HIST_MAILBOX_WAIT, this.#clock.now() - this.#wokeAt);
  }

  /** `actor` is gone before its batch (stopped): nothing to count, and the slot is free again. */
  forget(actor: object): void {
    if (this.#timing === actor) this.#timing = null;
  }
}
