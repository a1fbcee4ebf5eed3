// Mailbox wait, sampled: one user message in SAMPLE_EVERY arriving on a thread is stamped with the
// clock, and when its handler starts, the time since goes into the thread's mailbox-wait histogram.
// The others pay a counter's increment and nothing else. A plain tell stays four array slots
// (mailbox.ts) unless it is the one picked: then it travels as a StampedTell, an Envelope that
// carries its arrival time. A message that already is an Envelope (an ask, a prioritised tell)
// keeps its stamp beside it in a WeakMap, so one that never reaches a handler takes it along.

import type { Clock } from '../../runtime/clock.js';
import { observe } from '../../runtime/histogram.js';
import { HIST_MAILBOX_WAIT } from '../../runtime/layout.js';
import { Envelope, EnvelopeKind } from './envelope.js';

/**
 * One arrival in this many is timed (a power of two). A sample costs two clock reads and an
 * envelope, about 150 ns where a clock read costs 50 ns: one in 64 would add some 7 % to a
 * same-thread tell (about 30 ns), one in 1024 adds about 0.5 %.
 */
export const SAMPLE_EVERY = 1024;

/** A plain tell picked to be timed: its arrival time travels with it. */
class StampedTell extends Envelope {
  readonly arrivedAt: number;

  constructor(type: string, payload: unknown, senderThread: number, senderKey: number, custody: number, arrivedAt: number) {
    super(EnvelopeKind.Tell, type, payload, senderThread, senderKey, 0);
    this.custody = custody;
    this.arrivedAt = arrivedAt;
    this.markSampled();
  }
}

export class MailboxWait {
  readonly #clock: Clock;
  readonly #histograms: Float64Array;
  readonly #stamps = new WeakMap<Envelope, number>();
  #arrivals = 0;

  constructor(clock: Clock, histograms: Float64Array) {
    this.#clock = clock;
    this.#histograms = histograms;
  }

  /** Counts a user message's arrival in a mailbox: true for the one in SAMPLE_EVERY to stamp. */
  due(): boolean {
    return (++this.#arrivals & (SAMPLE_EVERY - 1)) === 0;
  }

  /** The plain tell that due() picked, as an Envelope stamped now. */
  stampedTell(type: string, payload: unknown, senderThread: number, senderKey: number, custody: number): Envelope {
    return new StampedTell(type, payload, senderThread, senderKey, custody, this.#clock.now());
  }

  /** Marks the Envelope that due() picked and stamps its arrival now. */
  stamp(env: Envelope): void {
    env.markSampled();
    this.#stamps.set(env, this.#clock.now());
  }

  /** The handler of a sampled `env` starts now: its wait is counted, once (a redelivery is not). */
  started(env: Envelope): void {
    env.clearSampled();
    const at = env instanceof StampedTell ? env.arrivedAt : this.#stamps.get(env);
    if (at !== undefined) observe(this.#histograms, HIST_MAILBOX_WAIT, this.#clock.now() - at);
  }
}
