// An actor's mailbox: four priority lanes (0..3), FIFO within each, highest lane first. Lane 0
// is a ring kept inline (the hot path is one array store and two field updates); lanes 1..3 are
// created on first use, so an actor that never sees a priority pays nothing for them.
//
// A bounded mailbox either gives each message's room back to the shared bounds table as the
// message leaves (overflow 'reject' and 'backpressure': senders took the room, see bounds.ts), or
// evicts on the host side (overflow 'drop-oldest': the oldest message of the lowest priority goes,
// and push returns it for the caller to dead-letter). Stop and Terminated envelopes take no room.

import { Queue } from '../runtime/queue.js';
import type { MailboxBounds } from './bounds.js';
import { EnvelopeKind, type Envelope } from './envelope.js';

export const MAX_PRIORITY = 3;

export class Mailbox {
  /** Messages in all lanes. */
  #length = 0;
  #items: (Envelope | undefined)[] = new Array(8);
  #head = 0;
  /** Messages in lane 0. */
  #size = 0;
  /** Lanes 1..3 at index 0..2, once a prioritised message arrived. */
  #high: Queue<Envelope>[] | null = null;
  /** Set for bounded mailboxes only: the hot path checks one boolean. */
  readonly #bounded: boolean;
  readonly #bounds: MailboxBounds | null;
  /** This mailbox's entry in the bounds table, or -1. */
  readonly entry: number;
  /** drop-oldest capacity, or 0. */
  readonly #dropAt: number;
  /** User messages (tells and asks) held, for drop-oldest. */
  #users = 0;

  constructor(bounds: MailboxBounds | null = null, entry = -1, dropAt = 0) {
    this.#bounds = entry >= 0 ? bounds : null;
    this.entry = entry;
    this.#dropAt = dropAt;
    this.#bounded = entry >= 0 || dropAt > 0;
  }

  get length(): number {
    return this.#length;
  }

  /** Queues `env`; under drop-oldest returns the message it evicted (possibly `env` itself). */
  push(env: Envelope): Envelope | undefined {
    if (this.#bounded && env.kind <= EnvelopeKind.Ask && this.#dropAt > 0) {
      if (this.#users >= this.#dropAt) {
        const evicted = this.#evict(env.priority);
        if (evicted === undefined) return env; // everything held outranks it: it is the one to go
        this.#put(env);
        return evicted;
      }
      this.#users++;
    }
    this.#put(env);
    return undefined;
  }

  #put(env: Envelope): void {
    this.#length++;
    if (env.priority === 0) {
      const items = this.#items;
      if (this.#size === items.length) {
        this.#grow();
        this.#items[this.#size++] = env;
        return;
      }
      items[(this.#head + this.#size) & (items.length - 1)] = env;
      this.#size++;
      return;
    }
    const lanes = (this.#high ??= [new Queue<Envelope>(), new Queue<Envelope>(), new Queue<Envelope>()]);
    lanes[env.priority - 1]!.push(env);
  }

  shift(): Envelope | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    if (this.#length >= this.#size) {
      // Some message waits in a higher lane: take the highest.
      const lanes = this.#high!;
      for (let lane = MAX_PRIORITY - 1; lane >= 0; lane--) {
        if (lanes[lane]!.length > 0) {
          const env = lanes[lane]!.shift()!;
          if (this.#bounded) this.#left(env);
          return env;
        }
      }
    }
    const items = this.#items;
    const env = items[this.#head]!;
    items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (items.length - 1);
    this.#size--;
    if (this.#bounded) this.#left(env);
    return env;
  }

  /** A message left without going through shift (a stash overflow): give its room back. */
  discard(env: Envelope): void {
    if (this.#bounded) this.#left(env);
  }

  #left(env: Envelope): void {
    if (env.kind > EnvelopeKind.Ask) return;
    if (this.#bounds !== null) this.#bounds.release(this.entry);
    else this.#users--;
  }

  /** The oldest user message of the lowest lane at or below `priority`, removed; or undefined. */
  #evict(priority: number): Envelope | undefined {
    if (this.#size > 0) {
      const items = this.#items;
      const mask = items.length - 1;
      for (let i = 0; i < this.#size; i++) {
        const env = items[(this.#head + i) & mask]!;
        if (env.kind > EnvelopeKind.Ask) continue;
        // Close the gap: move the older entries up by one (usually i is 0, the head).
        for (let j = i; j > 0; j--) items[(this.#head + j) & mask] = items[(this.#head + j - 1) & mask];
        items[this.#head] = undefined;
        this.#head = (this.#head + 1) & mask;
        this.#size--;
        this.#length--;
        return env;
      }
    }
    const lanes = this.#high;
    if (lanes === null) return undefined;
    for (let lane = 0; lane < priority; lane++) {
      if (lanes[lane]!.length > 0) {
        this.#length--;
        return lanes[lane]!.shift();
      }
    }
    return undefined;
  }

  /** Removes and returns everything, highest lane first, FIFO within a lane. */
  drain(): Envelope[] {
    const out: Envelope[] = [];
    for (let env = this.shift(); env !== undefined; env = this.shift()) out.push(env);
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const grown: (Envelope | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.#size; i++) grown[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = grown;
    this.#head = 0;
  }
}
