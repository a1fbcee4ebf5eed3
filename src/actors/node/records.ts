// The records one actor host writes into another thread's ring, each by name: what a record's
// header fields mean for each kind is written down here once. Every record goes through one
// reused header object (the runtime reads it at once and keeps nothing), as records are read.

import { MessageTooLargeError } from '../../errors.js';
import { RecordKind } from '../../runtime/layout.js';
import type { OutboundHeader, ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { ControlRecord, SpawnRecord } from './wire.js';

/** Keys per batched spawn record. */
const SPAWN_BATCH = 4096;

/** Spawns of one kind waiting to go to a thread as one record. */
interface SpawnBatch {
  readonly record: SpawnRecord;
  readonly keys: number[];
}

export class RecordWriter {
  readonly #runtime: ThreadRuntime;
  readonly #h: OutboundHeader = { kind: RecordKind.Tell, priority: 0, target: 0, sender: 0, corr: 0 };
  /**
   * By thread: a run of spawns that share one spawn record, written as one record (its keys and
   * the record once) before anything else goes to that thread, or at the end of the turn.
   */
  readonly #spawns: (SpawnBatch | null)[];
  #batched = 0;
  /** The last spawn record written alone (it fits): later spawns of it may be batched. */
  #sent: SpawnRecord | null = null;

  constructor(runtime: ThreadRuntime) {
    this.#runtime = runtime;
    this.#spawns = new Array<SpawnBatch | null>(runtime.threadCount).fill(null);
  }

  /** A message to actor `target` from actor `sender` (0: from outside); `receipt`: a correlation id for a K6 receipt, else 0. */
  tell(to: number, target: number, sender: number, priority: number, receipt: number, payload: unknown, type: string): void {
    // The hot path of every cross-thread tell: the header filled here, not through #write.
    if (this.#batched !== 0) this.#flushSpawnsTo(to);
    const h = this.#h;
    h.kind = RecordKind.Tell;
    h.priority = priority;
    h.target = target;
    h.sender = sender;
    h.corr = receipt;
    this.#runtime.write(to, h, payload, type);
  }

  /** An ask: the reply comes back as a Reply record with the same `corr`. */
  ask(to: number, target: number, sender: number, priority: number, corr: number, payload: unknown, type: string): void {
    this.#write(to, RecordKind.Ask, priority, target, sender, corr, payload, type);
  }

  /** One message for several actors of thread `to` (`keys`), encoded once (with the trace it carries, if any). */
  fanout(to: number, keys: number[], sender: number, priority: number, payload: unknown, type: string, trace: string | undefined): void {
    this.#write(to, RecordKind.Fanout, priority, 0, sender, keys.length, trace === undefined ? [keys, payload] : [keys, payload, trace], type);
  }

  /** The answer to ask `corr` of actor `asker` (0: from outside). */
  reply(to: number, asker: number, corr: number, value: unknown): void {
    this.#write(to, RecordKind.Reply, 0, asker, 0, corr, value, '');
  }

  /** A failure as the answer to ask `corr` (an error in its wire form). */
  replyError(to: number, asker: number, corr: number, error: unknown): void {
    this.#write(to, RecordKind.ReplyError, 0, asker, 0, corr, error, '');
  }

  /**
   * Spawns (or restarts) actor `key` on thread `to`. A loop of spawns that share one record (the
   * spawner interns it) and whose args are a primitive (shared objects would be one object for
   * all of them there) goes as one record per batch: [record, keys], `corr` the count. The first
   * spawn of a record goes alone, at once: what would refuse it (too large, say) is thrown here,
   * to the caller, as for any spawn; the batches of that record are the same record again.
   */
  spawn(to: number, key: number, parentKey: number, record: SpawnRecord): void {
    const args = record[2];
    if (record !== this.#sent || record.length > 6 || (typeof args === 'object' && args !== null) || typeof args === 'function') {
      this.#write(to, RecordKind.Spawn, 0, key, parentKey, 0, record, '');
      this.#sent = record;
      return;
    }
    let batch: SpawnBatch | null = this.#spawns[to] ?? null;
    if (batch !== null && batch.record !== record) {
      this.#flushSpawnsTo(to);
      batch = null;
    }
    if (batch === null) {
      batch = this.#spawns[to] = { record, keys: [] };
      if (this.#batched++ === 0) this.#runtime.publishSoon(); // written by the end of this turn at the latest
    }
    batch.keys.push(key);
    if (batch.keys.length >= SPAWN_BATCH) this.#flushSpawnsTo(to);
  }

  /** Writes every batch of spawns waiting (at the end of a turn, before the rings are published). */
  flushSpawns(): void {
    if (this.#batched === 0) return;
    for (let to = 0; to < this.#spawns.length; to++) this.#flushSpawnsTo(to);
  }

  #flushSpawnsTo(to: number): void {
    const batch = this.#spawns[to];
    if (batch === null || batch === undefined) return;
    this.#spawns[to] = null;
    this.#batched--;
    this.#writeBatch(to, batch.record, batch.keys);
  }

  /** One record for `keys`; halves until it fits a small maxMessageBytes (one key always does: it went alone before). */
  #writeBatch(to: number, record: SpawnRecord, keys: number[]): void {
    if (keys.length === 1) {
      this.#write(to, RecordKind.Spawn, 0, keys[0]!, record[4], 0, record, '');
      return;
    }
    try {
      this.#write(to, RecordKind.Spawn, 0, keys[0]!, record[4], keys.length, [record, keys], '');
    } catch (error) {
      if (!(error instanceof MessageTooLargeError)) throw error;
      const half = keys.length >> 1;
      this.#writeBatch(to, record, keys.slice(0, half));
      this.#writeBatch(to, record, keys.slice(half));
    }
  }

  /** Stops actor `key`; `how` 0: now, 1: after what it accepted, 2: killed. Answered by a Reply to `corr`. */
  stop(to: number, key: number, by: number, corr: number, how: 0 | 1 | 2): void {
    this.#write(to, RecordKind.Stop, 0, key, by, corr, how, '');
  }

  /** A supervisor's directive to its child `key`; answered by a Reply to `corr`. */
  directive(to: number, key: number, by: number, corr: number, verb: string): void {
    this.#write(to, RecordKind.Directive, 0, key, by, corr, verb, '');
  }

  control(to: number, record: ControlRecord): void {
    if (this.#batched !== 0) this.#flushSpawnsTo(to);
    this.#runtime.sendControl(to, record);
  }

  #write(to: number, kind: RecordKind, priority: number, target: number, sender: number, corr: number, payload: unknown, tag: string): void {
    if (this.#batched !== 0 && this.#spawns[to] !== null) this.#flushSpawnsTo(to);
    const h = this.#h;
    h.kind = kind;
    h.priority = priority;
    h.target = target;
    h.sender = sender;
    h.corr = corr;
    this.#runtime.write(to, h, payload, tag);
  }
}
