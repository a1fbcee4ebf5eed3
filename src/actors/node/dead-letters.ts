// Dead letters: every accepted message that will not be handled is counted here and, while
// someone listens, reported with its recipient, sender, type, payload and reason. Workers forward
// their letters to the main thread, where the listeners run, and only while one is subscribed
// (a flag in shared memory). Every letter is also published on the troupe:dead-letter channel of
// its thread while that has a subscriber (diagnostics.ts). Messages that listeners themselves send
// are marked quiet: if they die too they are counted, not handed back to the listeners (no loops, X2).

import type { Clock } from '../../runtime/clock.js';
import { STAT_DEAD_LETTERS, STAT_DL_OUTBOUND, STAT_DL_QUIET, STAT_DL_REASONS, STAT_OTHER_DEAD } from '../../runtime/layout.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { ControlBlock } from '../../runtime/control-block.js';
import { deadLettered, deadLettersObserved } from '../diagnostics.js';
import type { Envelope } from '../cell/envelope.js';
import { Delivery } from '../entity/delivery.js';
import { DEAD_LETTER_SLOT } from '../dead-letter-reasons.js';
import type { DeadLetter, DeadLetterReason } from '../types.js';
import type { ControlRecord } from './wire.js';

export class DeadLetters {
  readonly #self: number;
  readonly #runtime: ThreadRuntime;
  readonly #clock: Clock;
  readonly #ctl: ControlBlock;
  readonly #idOf: (key: number) => string;
  /** Main thread only: where dead letters go (the system's listeners). */
  onDeadLetter: ((letter: DeadLetter) => void) | null = null;
  /** Main thread: true while dead-letter listeners run (what they send is marked QUIET). */
  inListener = false;

  constructor(self: number, runtime: ThreadRuntime, clock: Clock, ctl: ControlBlock, idOf: (key: number) => string) {
    this.#self = self;
    this.#runtime = runtime;
    this.#clock = clock;
    this.#ctl = ctl;
    this.#idOf = idOf;
  }

  /** Main thread: whether workers should forward their dead letters here. */
  watch(on: boolean): void {
    this.#ctl.watchDeadLetters(on);
  }

  /** An accepted message that will not be handled (its ask, if any, is answered by the caller). */
  record(env: Envelope, recipientKey: number, reason: DeadLetterReason, deliveryCount = 1): void {
    // Key 0: a copy for one of this thread's subscribers that the letter cannot name (a fan-out).
    this.recordTo(env, recipientKey === 0 ? `thread:${this.#self}` : this.#idOf(recipientKey), reason, deliveryCount);
  }

  /** record(), for a recipient named by its id (an actor on another node). */
  recordTo(env: Envelope, recipient: string, reason: DeadLetterReason, deliveryCount = 1): void {
    this.#runtime.counters[STAT_DEAD_LETTERS]!++;
    this.#byReason(reason);
    let payload = env.payload;
    if (payload instanceof Delivery) {
      payload.dead(reason); // an entity's message: ended in its store too (entity/delivery.ts)
      payload = payload.payload;
    }
    if (env.quiet) {
      this.#runtime.counters[STAT_DL_QUIET]!++; // a dead-letter listener sent it: no loop (X2)
      return;
    }
    if (this.#self !== 0 && !this.#ctl.deadLettersWatched() && !deadLettersObserved()) return;
    this.emit({
      message: { type: env.type, payload },
      sender: env.senderKey === 0 ? undefined : this.#idOf(env.senderKey),
      recipient,
      reason,
      deliveryCount,
      at: this.#clock.now(),
    });
  }

  /** A reply that found no asker (timed out, a second reply, or its thread died). */
  lateReply(type: string, value: unknown, senderThread: number, senderKey: number): void {
    this.#runtime.counters[STAT_OTHER_DEAD]!++;
    this.#byReason('late-reply');
    this.emit({
      message: { type: `reply:${type}`, payload: value },
      sender: undefined,
      recipient: senderKey === 0 ? `thread:${senderThread}` : this.#idOf(senderKey),
      reason: 'late-reply',
      deliveryCount: 1,
      at: this.#clock.now(),
    });
  }

  /** A pool with no members was sent a message: a dead letter (no-routee). */
  noRoutee(type: string, payload: unknown, senderKey: number): void {
    this.#runtime.counters[STAT_DEAD_LETTERS]!++;
    this.#byReason('no-routee');
    this.emit({
      message: { type, payload },
      sender: senderKey === 0 ? undefined : this.#idOf(senderKey),
      recipient: 'pool',
      reason: 'no-routee',
      deliveryCount: 1,
      at: this.#clock.now(),
    });
  }

  /**
   * Messages of a thread that died, known only by type (or by count, with types ''): what this
   * thread sent there and was never read, or (main thread) what the dead thread held. The first
   * `inRing` had left this thread's custody (they were in the ring).
   */
  threadCrash(thread: number, types: readonly string[], inRing = 0): void {
    this.#runtime.counters[STAT_DL_OUTBOUND]! += inRing;
    for (const type of types) {
      this.#runtime.counters[STAT_DEAD_LETTERS]!++;
      this.#byReason('thread-crash');
      this.emit({
        message: { type, payload: undefined },
        sender: undefined,
        recipient: `thread:${thread}`,
        reason: 'thread-crash',
        deliveryCount: 1,
        at: this.#clock.now(),
      });
    }
  }

  /** Every dead letter counted above is counted by its reason too: they sum to the thread's dead letters. */
  #byReason(reason: DeadLetterReason): void {
    this.#runtime.counters[STAT_DL_REASONS + DEAD_LETTER_SLOT[reason]]!++;
  }

  /**
   * Publishes a letter on this thread's channel, and hands it to the listeners (main thread) or
   * forwards it there (while they listen).
   */
  emit(letter: DeadLetter): void {
    deadLettered(this.#self, letter);
    if (this.#self === 0) {
      this.toListeners(letter);
      return;
    }
    if (!this.#ctl.deadLettersWatched()) return;
    const control: ControlRecord = ['dl', letter];
    try {
      this.#runtime.sendControl(0, control);
    } catch {
      // The payload cannot travel (a same-thread message held a function): report without it.
      this.#runtime.sendControl(0, ['dl', { ...letter, message: { type: letter.message.type, payload: undefined } }]);
    }
  }

  /**
   * Main thread: hands a dead letter to the listeners. Messages they send are marked, so that a
   * listener that sends to a dead actor makes one counted dead letter, not a loop (X2); a dead
   * letter raised while they run is counted and not handed to them again.
   */
  toListeners(letter: DeadLetter): void {
    if (this.onDeadLetter === null) return;
    if (this.inListener) {
      this.#runtime.counters[STAT_DL_QUIET]!++;
      return;
    }
    this.inListener = true;
    try {
      this.onDeadLetter(letter);
    } finally {
      this.inListener = false;
    }
  }
}
