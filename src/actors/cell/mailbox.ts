// An actor's mailbox: four priority lanes (0..3), FIFO within each, highest lane first. Lane 0
// is a ring kept inline; lanes 1..3 are created on first use, so an actor that never sees a
// priority pays nothing for them.
//
// Lane 0 holds a plain tell (priority 0, no message id: nearly every message) as four slots of one
// array (type, payload, sender thread, sender key) instead of an Envelope: no allocation per
// message and nothing for the GC to copy while it waits. Everything else is an Envelope in the
// first slot. shift() hands out Envelopes (built for plain tells as they leave); the cell's hot
// loop takes plain tells with takeTell() and never builds one.
//
// A bounded mailbox either gives each message's room back to the shared bounds table as the
// message leaves (overflow 'reject' and 'backpressure': senders took the room, see bounds.ts), or
// evicts on the host side (overflow 'drop-oldest': the oldest message of the lowest priority goes,
// and push returns it for the caller to dead-letter). Stop and Terminated envelopes take no room.

import { Queue } from '../../runtime/queue.js';
import { invalid } from '../../validate.js';
import type { MailboxBounds } from '../../runtime/bounds-table.js';
import { Envelope, EnvelopeKind } from './envelope.js';

export const MAX_PRIORITY = 3;

/** A message's priority lane: missing is 0, out of range is clamped to 0..3 (RabbitMQ's rule). */
export function priorityOf(options: { readonly priority?: number }): number {
  const p = options.priority;
  if (p === undefined) return 0;
  if (typeof p !== 'number' || Number.isNaN(p)) throw invalid('options.priority', 'a number (0..3; others are clamped)', p);
  return p <= 0 ? 0 : p >= MAX_PRIORITY ? MAX_PRIORITY : Math.floor(p);
}

/** Array slots per lane-0 message: type (or an Envelope), payload, sender thread, sender key. */
const SLOT = 4;

/**
 * Emptied plain mailboxes, kept for the next cell that gets a message (one pool per thread: each
 * thread has its own copy of this module). An idle actor holds no mailbox, so a million idle
 * actors cost no million mailboxes, and actors that take turns (ping-pong) pass a few around
 * instead of allocating one per message.
 */
const spare: Mailbox[] = [];
const SPARE_MAX = 256;
/** A mailbox whose lane 0 grew to this many messages stays with its actor (a busy one). */
const SPARE_CAPACITY = 64;

/** An empty unbounded mailbox: a spare one if there is one. */
export function takeMailbox(): Mailbox {
  return spare.pop() ?? new Mailbox();
}

export class Mailbox {
  /** Messages in all lanes. */
  #length = 0;
  /**
   * Lane 0: SLOT entries per message (see the top of this file); capacity a power of two, one
   * message at first (most mailboxes hold one at a time: an ask, a reply, a turn).
   */
  #items: unknown[] = new Array(SLOT);
  /** Lane 0's capacity in messages, minus one. */
  #mask = 0;
  /**
   * Lane 0's plain tells' custody ids (runtime/custody-log.ts), by ring index: made when the first
   * one that came through a ring arrives, so a mailbox fed from its own thread never has it.
   */
  #custody: Int32Array | null = null;
  /** Index of lane 0's first message (in messages, not slots). */
  #head = 0;
  /** Messages in lane 0. */
  #size = 0;
  /** The plain tell takeTell() took last: its payload and sender. */
  payload: unknown = undefined;
  senderThread = 0;
  senderKey = 0;
  custody = 0;
  /** Lanes 1..3 at index 0..2, once a prioritised message arrived. */
  #high: Queue<Envelope>[] | null = null;
  /** Set for bounded mailboxes only: the hot path checks one boolean. */
  readonly #bounded: boolean;
  readonly #bounds: MailboxBounds | null;
  /** This mailbox's entry in the bounds table, or -1. */
  readonly entry: number;
  /** Plain tells taken since the last releaseTaken(): their room, not yet given back. */
  #taken = 0;
  /**
   * Room taken ahead by senders on this thread (one compare-and-swap for a block of tells, not
   * one each), given back with releaseTaken() at the actor's next run (which their first tell
   * scheduled, unless it was refused as a duplicate or a stash overflow: then at a later run).
   * Meanwhile the mailbox looks fuller than it is by at most a block, never emptier.
   */
  #credit = 0;
  /** Tells per block of room taken ahead: 1/64 of the capacity, at most 64. */
  readonly #block: number;
  /** drop-oldest capacity, or 0. */
  readonly #dropAt: number;
  /** User messages (tells and asks) held, for drop-oldest. */
  #users = 0;

  constructor(bounds: MailboxBounds | null = null, entry = -1, dropAt = 0) {
    this.#bounds = entry >= 0 ? bounds : null;
    this.entry = entry;
    this.#dropAt = dropAt;
    this.#bounded = entry >= 0 || dropAt > 0;
    this.#block = this.#bounds === null ? 1 : Math.max(1, Math.min(64, this.#bounds.capacityOf(entry) >> 6));
  }

  /** Room for one message from a sender on this thread (bounded mailboxes): false when full. */
  takeRoomHere(): boolean {
    if (this.#credit > 0) {
      this.#credit--;
      return true;
    }
    const got = this.#bounds!.tryAcquireHere(this.entry, this.#block);
    if (got === 0) return false;
    this.#credit = got - 1;
    return true;
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

  /**
   * Queues a plain tell (lane 0, no message id, not quiet) without an Envelope. Not for a
   * drop-oldest mailbox (it evicts Envelopes): the caller checks `plain`. A bounded mailbox gives
   * the message's room back as it leaves (takeTell, shift).
   */
  pushTell(type: string, payload: unknown, senderThread: number, senderKey: number, custody: number): void {
    if (this.#size > this.#mask) this.#grow();
    const i = (this.#head + this.#size) & this.#mask;
    const at = i * SLOT;
    const items = this.#items;
    items[at] = type;
    items[at + 1] = payload;
    items[at + 2] = senderThread;
    items[at + 3] = senderKey;
    if (custody !== 0 || this.#custody !== null) (this.#custody ??= new Int32Array(this.#mask + 1))[i] = custody;
    this.#size++;
    this.#length++;
  }

  /**
   * Gives the senders back the room of the plain tells taken since the last call: once per run
   * of the actor, not once per message (one atomic operation instead of dozens). Until then the
   * mailbox looks fuller than it is, never emptier.
   */
  releaseTaken(): void {
    const n = this.#taken + this.#credit;
    if (n === 0) return;
    this.#bounds!.releaseMany(this.entry, n);
    this.#taken = 0;
    this.#credit = 0;
  }

  /**
   * An empty unbounded mailbox that never grew past SPARE_CAPACITY is let go (returns true: the
   * caller forgets it), into the thread's spares while there is room. One that grew keeps its
   * actor's bursts from growing a new one each time; a bounded one holds its entry in the bounds
   * table: both are kept.
   */
  recycle(): boolean {
    if (this.#length !== 0 || this.#bounded || this.#mask >= SPARE_CAPACITY) return false;
    if (spare.length < SPARE_MAX) {
      this.#head = 0;
      spare.push(this);
    }
    return true;
  }

  /** True when pushTell may be used: no drop-oldest bound to keep here. */
  get plain(): boolean {
    return this.#dropAt === 0;
  }

  #put(env: Envelope): void {
    this.#length++;
    if (env.priority === 0) {
      if (this.#size > this.#mask) this.#grow();
      this.#items[((this.#head + this.#size) & this.#mask) * SLOT] = env;
      this.#size++;
      return;
    }
    const lanes = (this.#high ??= [new Queue<Envelope>(), new Queue<Envelope>(), new Queue<Envelope>()]);
    lanes[env.priority - 1]!.push(env);
  }

  /**
   * The hot path: when the next message is a plain tell, takes it and returns its type, with its
   * payload, sender and custody id in this.payload, this.senderThread, this.senderKey and
   * this.custody. Otherwise takes
   * nothing and returns undefined (then shift()).
   */
  takeTell(): string | undefined {
    if (this.#size === 0 || this.#length > this.#size) return undefined;
    const items = this.#items;
    const at = this.#head * SLOT;
    const type = items[at];
    if (typeof type !== 'string') return undefined;
    this.payload = items[at + 1];
    this.senderThread = items[at + 2] as number;
    this.senderKey = items[at + 3] as number;
    this.custody = this.#custody === null ? 0 : this.#custody[this.#head]!;
    items[at] = undefined;
    items[at + 1] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
    this.#length--;
    if (this.#bounds !== null) this.#taken++; // its room goes back to the senders with releaseTaken()
    return type;
  }

  /** Lane 0's message at ring index `i`, as an Envelope (built for a plain tell). */
  #envelopeAt(i: number): Envelope {
    const items = this.#items;
    const at = i * SLOT;
    const first = items[at];
    if (typeof first !== 'string') return first as Envelope;
    const env = new Envelope(EnvelopeKind.Tell, first, items[at + 1], items[at + 2] as number, items[at + 3] as number, 0);
    if (this.#custody !== null) env.custody = this.#custody[i]!;
    return env;
  }

  /** Clears lane 0's slots at ring index `i` (nothing retained). */
  #clear(i: number): void {
    const at = i * SLOT;
    this.#items[at] = undefined;
    this.#items[at + 1] = undefined;
  }

  shift(): Envelope | undefined {
    const env = this.#take();
    if (env !== undefined && this.#bounded) this.#left(env);
    return env;
  }

  /** The next message, highest lane first; its room is not given back. */
  #take(): Envelope | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    if (this.#length >= this.#size) {
      // Some message waits in a higher lane: take the highest.
      const lanes = this.#high!;
      for (let lane = MAX_PRIORITY - 1; lane >= 0; lane--) if (lanes[lane]!.length > 0) return lanes[lane]!.shift()!;
    }
    const env = this.#envelopeAt(this.#head);
    this.#clear(this.#head);
    this.#head = (this.#head + 1) & this.#mask;
    this.#size--;
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
      const mask = this.#mask;
      for (let i = 0; i < this.#size; i++) {
        const env = this.#envelopeAt((this.#head + i) & mask);
        if (env.kind > EnvelopeKind.Ask) continue;
        // Close the gap: move the older entries up by one (usually i is 0, the head).
        for (let j = i; j > 0; j--) {
          const to = ((this.#head + j) & mask) * SLOT;
          const from = ((this.#head + j - 1) & mask) * SLOT;
          for (let k = 0; k < SLOT; k++) items[to + k] = items[from + k];
        }
        this.#clear(this.#head);
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

  /**
   * Everything, in the order drain() gives, for the actor's mailbox on another thread (a move):
   * the room of what was handled here goes back to the senders, the room of what is handed over
   * stays taken in the shared table (those messages still wait, only elsewhere).
   */
  handOver(): Envelope[] {
    if (this.#bounds !== null) this.releaseTaken();
    const out: Envelope[] = [];
    for (let env = this.#take(); env !== undefined; env = this.#take()) out.push(env);
    return out;
  }

  #grow(): void {
    const old = this.#items;
    const capacity = (this.#mask + 1) * 2;
    const grown: unknown[] = new Array(capacity * SLOT);
    for (let i = 0; i < this.#size; i++) {
      const from = ((this.#head + i) & this.#mask) * SLOT;
      for (let k = 0; k < SLOT; k++) grown[i * SLOT + k] = old[from + k];
    }
    this.#items = grown;
    const custody = this.#custody;
    if (custody !== null) {
      const moved = new Int32Array(capacity);
      for (let i = 0; i < this.#size; i++) moved[i] = custody[(this.#head + i) & this.#mask]!;
      this.#custody = moved;
    }
    this.#mask = capacity - 1;
    this.#head = 0;
  }
}
