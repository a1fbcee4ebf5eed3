// Where entities keep what must outlive an activation: each key's committed state, the messages
// accepted for it and not yet finished (in order, by sequence number), and the message ids it has
// finished (for dedup). One per thread; the keys a thread writes are only those that live there.
// In memory by default (gone with the process); lmdb-store.ts keeps it on disk.

/** A message to an entity as stored: type, payload, messageId, trace, and the entity's outbox it came from (if one did). */
export type StoredRecord = [type: string, payload: unknown, messageId: string | null, trace: string | null, source?: SourceMark];

/** Where a message from an entity's outbox came from: the sending key's id and the message's number among all it sent. */
export type SourceMark = readonly [sourceId: string, outSeq: number];

/** A message an entity's handler sent to another entity, kept until that one has stored it (entity/outbox.ts). */
export interface OutboxEntry {
  readonly sourceId: string;
  readonly outSeq: number;
  /** The target's address, type, payload and trace, encoded. */
  readonly record: Uint8Array;
}

/** What a handler's commit writes besides the state and the end of its message. */
export interface CommitExtras {
  /** Reminders set or cancelled. */
  readonly reminders: readonly ReminderChange[] | null;
  /** Messages sent to other entities, released once this commit is done. */
  readonly outbox: readonly OutboxEntry[] | null;
  /** The message being ended came from an outbox: the highest number taken from that source. */
  readonly mark: SourceMark | null;
  /**
   * ctx.deleteEntity: the key's state, reminders and dedup records go (its outbox numbering and
   * the marks of what it took stay: what it was sent before is not taken again).
   */
  readonly deleteAll: boolean;
  /** The message being ended had been handled by a thread that died (its count of tries goes). */
  readonly tried: boolean;
}

/** One handler's commit: its state (null: unchanged), the end of its message (seq 0: none; below 0: one main posted) and its messageId's dedup record, and the rest. */
export interface CommitWrite {
  readonly state: Uint8Array | null;
  readonly seq: number;
  readonly messageId: string | null;
  /** When (epoch ms), for the dedup record. */
  readonly at: number;
  readonly extras: CommitExtras | null;
}

/** A reminder as stored: when it is next due (epoch ms), and its period (0: once). */
export interface StoredReminder {
  readonly id: string;
  readonly name: string;
  readonly due: number;
  readonly everyMs: number;
}

/** A change to a key's reminders, made with a handler's commit: set (due, everyMs), or cancel (null). */
export type ReminderChange = readonly [name: string, set: { due: number; everyMs: number } | null];

export interface EntityStore {
  /** Whether what is stored outlives the process (messages are stored before they are handled). */
  readonly durable: boolean;
  /** The state `id` last committed, encoded; undefined for a key never seen. */
  state(id: string): Uint8Array | undefined;
  /** The highest sequence number of a message stored for `id`, or 0. */
  lastSeq(id: string): number;
  /** Stores a message (`record` is valid during the call only: a store keeps a copy); resolves once it is as durable as configured. */
  put(id: string, seq: number, record: Uint8Array): Promise<void>;
  /**
   * Stores message `n` of those main posts itself (node/entity-posts.ts), as put does; it is
   * pending for `id` as seq -n. Absent: main does not post to this store (in memory, a cluster's).
   */
  post?(id: string, n: number, record: Uint8Array): Promise<void>;
  /** The highest number of a posted message still stored (0: none): main numbers on from it. */
  lastPost?(): number;
  /**
   * `writes`, in order, in one transaction: of their states only the last is kept. Resolves once
   * as durable as configured.
   */
  commit(id: string, writes: readonly CommitWrite[]): Promise<void>;
  /** The highest outbox number `targetId` has taken from `sourceId` (0: none). */
  mark(targetId: string, sourceId: string): number;
  /** The highest outbox number `sourceId` has given (0: none). */
  lastOut(sourceId: string): number;
  /** Every message still in an outbox, by source, in order. */
  outbox(): Iterable<OutboxEntry>;
  /** An outbox message its target has stored: out of the outbox. */
  sent(sourceId: string, outSeq: number): Promise<void>;
  /** Every reminder stored (at start: they are scheduled again). */
  reminders(): Iterable<StoredReminder>;
  /** A reminder fired (its message stored): due again at `next`, or gone (null). */
  reminded(id: string, name: string, next: number | null, everyMs: number): Promise<void>;
  /** Whether `id` finished a message with this id at or after `since`. */
  seen(id: string, messageId: string, since: number): boolean;
  /**
   * The messages stored for `id`: those its key's thread stored (seq > 0), oldest first, then
   * those main posted (seq -n), oldest first. The two come from different senders: no order
   * between them is owed.
   */
  pending(id: string): Iterable<{ seq: number; record: Uint8Array }>;
  /**
   * Whether message `seq` of `id` has ended already, as the store last read it: in a cluster, a
   * key's record read again after a lost compare-and-set may show that another node handled it
   * (it took the key over while this one was cut off). Absent: never (one process writes the store).
   */
  ended?(id: string, seq: number): boolean;
  /** How often a thread died while handling message `seq` of `id` (0: never). */
  tries(id: string, seq: number): number;
  /** Records that count; the message's end forgets it (CommitExtras.tried). */
  tried(id: string, seq: number, tries: number): Promise<void>;
  /** Every id with stored messages. */
  withMessages(): Iterable<string>;
  /** The module that defines entity `name` (recorded at its first message). */
  moduleOf(name: string): string | undefined;
  rememberModule(name: string, moduleUrl: string): void;
  /** Forgets dedup records older than `before`. */
  prune(before: number): void;
  /** Bytes the store takes on disk (0 in memory). */
  bytes(): number;
  close(): Promise<void>;
}

/** The store of a system without `storage`: states and dedup records in memory, no messages. */
export class MemoryStore implements EntityStore {
  readonly durable = false;
  readonly #states = new Map<string, Uint8Array>();
  readonly #seen = new Map<string, number>();
  readonly #reminders = new Map<string, StoredReminder>();
  readonly #marks = new Map<string, number>();
  readonly #lastOut = new Map<string, number>();

  state(id: string): Uint8Array | undefined {
    return this.#states.get(id);
  }

  lastSeq(): number {
    return 0;
  }

  put(): Promise<void> {
    return Promise.resolve();
  }

  commit(id: string, writes: readonly CommitWrite[]): Promise<void> {
    for (const { state, messageId, at, extras } of writes) {
      if (extras?.deleteAll === true) {
        this.#states.delete(id);
        for (const key of [...this.#seen.keys()]) if (key.startsWith(`${id}\u0000`)) this.#seen.delete(key);
        for (const key of [...this.#reminders.keys()]) if (key.startsWith(`${id}\u0000`)) this.#reminders.delete(key);
      }
      if (state !== null) this.#states.set(id, state);
      if (messageId !== null) this.#seen.set(`${id}\u0000${messageId}`, at);
      if (extras?.mark != null) this.#marks.set(`${id}\u0000${extras.mark[0]}`, extras.mark[1]);
      const out = extras?.outbox;
      if (out != null && out.length > 0) this.#lastOut.set(id, out[out.length - 1]!.outSeq);
      const reminders = extras?.reminders;
      if (reminders != null) {
        for (const [name, set] of reminders) {
          if (set === null) this.#reminders.delete(`${id}\u0000${name}`);
          else this.#reminders.set(`${id}\u0000${name}`, { id, name, due: set.due, everyMs: set.everyMs });
        }
      }
    }
    return DONE;
  }

  reminders(): Iterable<StoredReminder> {
    return this.#reminders.values();
  }

  mark(targetId: string, sourceId: string): number {
    return this.#marks.get(`${targetId}\u0000${sourceId}`) ?? 0;
  }

  lastOut(sourceId: string): number {
    return this.#lastOut.get(sourceId) ?? 0;
  }

  outbox(): Iterable<OutboxEntry> {
    return []; // nothing outlives the process here
  }

  sent(): Promise<void> {
    return DONE;
  }

  reminded(id: string, name: string, next: number | null, everyMs: number): Promise<void> {
    if (next === null) this.#reminders.delete(`${id}\u0000${name}`);
    else this.#reminders.set(`${id}\u0000${name}`, { id, name, due: next, everyMs });
    return DONE;
  }

  seen(id: string, messageId: string, since: number): boolean {
    const at = this.#seen.get(`${id}\u0000${messageId}`);
    return at !== undefined && at >= since;
  }

  pending(): Iterable<{ seq: number; record: Uint8Array }> {
    return [];
  }

  withMessages(): Iterable<string> {
    return [];
  }

  tries(): number {
    return 0; // nothing stored outlives a thread here
  }

  tried(): Promise<void> {
    return DONE;
  }

  moduleOf(): string | undefined {
    return undefined;
  }

  rememberModule(): void {}

  prune(before: number): void {
    for (const [key, at] of this.#seen) if (at < before) this.#seen.delete(key);
  }

  bytes(): number {
    return 0;
  }

  close(): Promise<void> {
    return DONE;
  }
}

const DONE = Promise.resolve();
