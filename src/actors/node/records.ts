// The records one actor host writes into another thread's ring, each by name: what a record's
// header fields mean for each kind is written down here once. Every record goes through one
// reused header object (the runtime reads it at once and keeps nothing), as records are read.

import { RecordKind } from '../../runtime/layout.js';
import type { OutboundHeader, ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { ControlRecord, SpawnRecord } from './wire.js';

export class RecordWriter {
  readonly #runtime: ThreadRuntime;
  readonly #h: OutboundHeader = { kind: RecordKind.Tell, priority: 0, target: 0, sender: 0, corr: 0 };

  constructor(runtime: ThreadRuntime) {
    this.#runtime = runtime;
  }

  /** A message to actor `target` from actor `sender` (0: from outside); `receipt`: a correlation id for a K6 receipt, else 0. */
  tell(to: number, target: number, sender: number, priority: number, receipt: number, payload: unknown, type: string): void {
    // The hot path of every cross-thread tell: the header filled here, not through #write.
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

  /** One message for several actors of thread `to` (`keys`), encoded once. */
  fanout(to: number, keys: number[], sender: number, priority: number, payload: unknown, type: string): void {
    this.#write(to, RecordKind.Fanout, priority, 0, sender, keys.length, [keys, payload], type);
  }

  /** The answer to ask `corr` of actor `asker` (0: from outside). */
  reply(to: number, asker: number, corr: number, value: unknown): void {
    this.#write(to, RecordKind.Reply, 0, asker, 0, corr, value, '');
  }

  /** A failure as the answer to ask `corr` (an error in its wire form). */
  replyError(to: number, asker: number, corr: number, error: unknown): void {
    this.#write(to, RecordKind.ReplyError, 0, asker, 0, corr, error, '');
  }

  /** Spawns (or restarts) actor `key` on thread `to`. */
  spawn(to: number, key: number, parentKey: number, record: SpawnRecord): void {
    this.#write(to, RecordKind.Spawn, 0, key, parentKey, 0, record, '');
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
    this.#runtime.sendControl(to, record);
  }

  #write(to: number, kind: RecordKind, priority: number, target: number, sender: number, corr: number, payload: unknown, tag: string): void {
    const h = this.#h;
    h.kind = kind;
    h.priority = priority;
    h.target = target;
    h.sender = sender;
    h.corr = corr;
    this.#runtime.write(to, h, payload, tag);
  }
}
