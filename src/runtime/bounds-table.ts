// Exact mailbox capacity across threads. A bounded mailbox (overflow 'reject' or 'backpressure')
// owns a slot in one shared table: its depth counts the messages accepted for it and not yet
// started, wherever they are (a sender's spill, a ring, the mailbox). Senders on any thread take
// room with a compare-and-swap before they send, the host gives it back as each message leaves
// the mailbox, so the capacity holds at every instant, not just on the host's side.
//
// The table has one row per spawning thread, `slots` entries a row. A spawner claims the entry
// `seq & (slots - 1)` of its own row for the actor with sequence number `seq` (it skips numbers
// whose entry is taken), so any thread finds the entry from the actor's key alone: no lookup
// table, no message. An entry: OWNER (the seq, 0 when free), CAPACITY, DEPTH, HOST (its thread).
//
// Freeing: the host sets DEPTH to DEAD, then OWNER to 0; only the spawner reclaims the entry,
// and only once its seq counter has come round again. A sender that read OWNER, was delayed past
// a free and a reclaim, and then took room from the new owner sees OWNER changed afterwards and
// gives the room back: the capacity can be under-used for an instant, never exceeded.

const OWNER = 0;
const CAPACITY = 1;
const DEPTH = 2;
const HOST = 3;
const FIELDS = 4;
const DEAD = -0x40000000;

export const enum Admit {
  Ok = 0,
  Full = 1,
  /** The actor is gone (its entry was freed): the message will be a dead letter on its host. */
  Gone = 2,
}

export function createBoundsTable(threads: number, slots: number): SharedArrayBuffer {
  return new SharedArrayBuffer(threads * slots * FIELDS * 4);
}

export class MailboxBounds {
  readonly #table: Int32Array;
  readonly #slots: number;
  readonly #span: number;

  /** `span`: actor keys are seq * span + the spawning thread. */
  constructor(table: SharedArrayBuffer, threads: number, span: number) {
    this.#table = new Int32Array(table);
    this.#slots = this.#table.length / FIELDS / threads;
    this.#span = span;
  }

  /** Claims the entry for (`row`, `seq`) and returns it; -1 if a live actor holds it. */
  claim(row: number, seq: number, capacity: number, host: number): number {
    const at = (row * this.#slots + (seq & (this.#slots - 1))) * FIELDS;
    const t = this.#table;
    if (Atomics.load(t, at + OWNER) !== 0) return -1;
    t[at + CAPACITY] = capacity;
    t[at + HOST] = host;
    Atomics.store(t, at + DEPTH, 0);
    // Atomics.store last: publishes the entry (a sender that sees OWNER sees the rest).
    Atomics.store(t, at + OWNER, seq);
    return at;
  }

  /** The capacity of a claimed entry. */
  capacityOf(at: number): number {
    return this.#table[at + CAPACITY]!;
  }

  get slotsPerThread(): number {
    return this.#slots;
  }

  /** The entry of a bounded mailbox, or -1. A plain read: the claim happened before the key was known. */
  entryOf(key: number): number {
    const seq = Math.floor(key / this.#span);
    const row = key - seq * this.#span;
    const at = (row * this.#slots + (seq & (this.#slots - 1))) * FIELDS;
    return this.#table[at + OWNER] === (seq | 0) && seq !== 0 ? at : -1;
  }

  /** Takes room for one message, if there is any. */
  tryAcquire(at: number, key: number): Admit {
    const t = this.#table;
    const capacity = t[at + CAPACITY]!;
    for (;;) {
      // Atomics.load/compareExchange: DEPTH is shared by every sender and the host.
      const depth = Atomics.load(t, at + DEPTH);
      if (depth < 0) return Admit.Gone;
      if (depth >= capacity) return Admit.Full;
      if (Atomics.compareExchange(t, at + DEPTH, depth, depth + 1) === depth) break;
    }
    const seq = Math.floor(key / this.#span) | 0;
    if (Atomics.load(t, at + OWNER) !== seq) {
      Atomics.sub(t, at + DEPTH, 1); // the entry changed hands meanwhile: give the room back
      return Admit.Gone;
    }
    return Admit.Ok;
  }

  /**
   * Takes room for up to `want` messages (at least one, or none if it is full) for senders on
   * the host's own thread, which have just seen the actor alive there: its entry cannot be
   * freed or change hands meanwhile (only the host frees it, on this thread), so the owner
   * check of tryAcquire is not needed. Returns how many it took.
   */
  tryAcquireHere(at: number, want: number): number {
    const t = this.#table;
    const capacity = t[at + CAPACITY]!;
    for (;;) {
      // Atomics.load/compareExchange: senders on other threads take room from DEPTH too.
      const depth = Atomics.load(t, at + DEPTH);
      if (depth >= capacity) return 0;
      const n = Math.min(want, capacity - depth);
      if (Atomics.compareExchange(t, at + DEPTH, depth, depth + n) === depth) return n;
    }
  }

  /** Counts a message that takes no room check (a timer the actor set itself). */
  add(at: number): void {
    Atomics.add(this.#table, at + DEPTH, 1);
  }

  /** One message left the mailbox (started, or dead-lettered). */
  release(at: number): void {
    Atomics.sub(this.#table, at + DEPTH, 1);
  }

  /** `n` messages left the mailbox. */
  releaseMany(at: number, n: number): void {
    Atomics.sub(this.#table, at + DEPTH, n);
  }

  /** The actor moved to `thread`: the entry is freed if that thread dies, not if the old one does. */
  rehost(at: number, thread: number): void {
    Atomics.store(this.#table, at + HOST, thread);
  }

  /** The actor stopped: senders now see it gone, and the spawner may reuse the entry. */
  free(at: number): void {
    const t = this.#table;
    Atomics.store(t, at + DEPTH, DEAD);
    Atomics.store(t, at + OWNER, 0);
  }

  /** Frees every entry hosted by a thread that died. */
  freeHostedBy(thread: number): void {
    const t = this.#table;
    for (let at = 0; at < t.length; at += FIELDS) if (Atomics.load(t, at + OWNER) !== 0 && t[at + HOST] === thread) this.free(at);
  }
}
