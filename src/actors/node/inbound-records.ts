// Records that other threads wrote into this thread's rings, turned into what the actor model
// does with them: messages into mailboxes (a plain tell without an Envelope), replies to pending
// asks, spawns, stops, directives and control notices. What comes for an actor that is not here
// (yet) is held (arrivals.ts) or becomes a dead letter.

import { SerializationError, fromWire, toWire, type WireError } from '../../errors.js';
import { RecordKind, STAT_DUPLICATES } from '../../runtime/layout.js';
import type { RecordHeader } from '../../runtime/ring-buffer.js';
import type { InboundSink } from '../../runtime/thread-runtime.js';
import { COPY_DONE, COPY_STARTED, COPY_UNKNOWN, TRACKED_COPIES, copyId } from '../../runtime/custody-layout.js';
import { redeliver } from '../cell/ack-mode.js';
import type { ActorRefImpl } from '../actor-ref.js';
import { Envelope, EnvelopeKind, QUIET } from '../cell/envelope.js';
import { MAX_PRIORITY } from '../cell/mailbox.js';
import type { NodeCore } from './node-core.js';
import type { EntityAddress, EntityRefImpl } from '../entity/entity-ref.js';
import type { Arrival, Receipt } from '../entity/entities.js';
import type { SourceMark } from '../entity/entity-store.js';
import { WIRE_ENTITY, WIRE_MESSAGE_ID, WIRE_RECEIPT, WIRE_REDELIVERY, WIRE_TRACE, type ControlRecord, type SpawnRecord } from './wire.js';

/** What inbound records need of the host beyond the shared core. */
export interface InboundHost extends NodeCore {
  spawnFromRecord(from: number, key: number, record: SpawnRecord): void;
  stopRef(ref: ActorRefImpl, graceful: boolean, kill: boolean): Promise<void>;
  onControl(from: number, record: ControlRecord): void;
  lateReply(env: Envelope, value: unknown): void;
  remoteRef(systemId: string, nodeName: string, thread: number, key: number): ActorRefImpl;
  readonly sampler: { countdown: number; edge(from: number, sender: number, target: number): void };
  readonly entities: NodeCore['entities'] & { arrive(address: EntityAddress, arrival: Arrival, receipt: Receipt | null): void; entityRef(address: EntityAddress): EntityRefImpl };
}

export class InboundRecords implements InboundSink {
  readonly #node: InboundHost;
  /** While a replacement takes up its predecessor's log: the message being delivered had been started. */
  #interrupted = false;

  constructor(node: InboundHost) {
    this.#node = node;
  }

  get actorCount(): number {
    return this.#node.cells.size;
  }

  /** The codec decodes refs in payloads through the sink of the thread reading them (actor-ref.ts). */
  refFor(thread: number, key: number): ActorRefImpl {
    return this.#node.refFor(thread, key);
  }

  /** Refs that name their system: to actors on other nodes of a cluster (remote-ref.ts). */
  remoteRef(systemId: string, nodeName: string, thread: number, key: number): ActorRefImpl {
    return this.#node.remoteRef(systemId, nodeName, thread, key);
  }

  /** And refs to entities by their address (entity/entity-ref.ts). */
  entityRef(address: EntityAddress): EntityRefImpl {
    return this.#node.entities.entityRef(address);
  }

  onRecord(from: number, h: RecordHeader, payload: unknown, tag: string): void {
    const node = this.#node;
    switch (h.kind) {
      case RecordKind.Tell:
      case RecordKind.Ask: {
        const sampler = node.sampler;
        if (--sampler.countdown === 0) sampler.edge(from, h.sender, h.target); // for the planner, one in 32 when it asks
        let priority = h.priority;
        let messageId: string | undefined;
        let trace: string | undefined;
        if ((priority & WIRE_TRACE) !== 0) {
          [trace, payload] = payload as [string, unknown];
          priority &= ~WIRE_TRACE;
        }
        if ((priority & WIRE_ENTITY) !== 0) {
          this.#toEntity(from, h, payload, tag, priority, trace);
          return;
        }
        if ((priority & WIRE_REDELIVERY) !== 0) {
          const [attempt, id, senderThread, inner, carried] = payload as [number, string | null, number, unknown, string?];
          const env = new Envelope(EnvelopeKind.Tell, tag, inner, senderThread, h.sender, 0, priority & (MAX_PRIORITY | QUIET), id ?? undefined);
          env.custody = h.custody;
          env.trace = carried;
          const cell = node.cells.get(h.target);
          if (cell !== undefined && !cell.ending) redeliver(cell, env, attempt);
          else this.deliver(h.target, env);
          return;
        }
        if ((priority & WIRE_MESSAGE_ID) !== 0) {
          [messageId, payload] = payload as [string, unknown];
          if ((priority & WIRE_RECEIPT) !== 0) {
            this.#deliverWithReceipt(from, h, tag, payload, messageId, priority & (MAX_PRIORITY | QUIET), trace);
            return;
          }
          priority &= MAX_PRIORITY | QUIET;
        }
        if (priority === 0 && messageId === undefined && trace === undefined && h.kind === RecordKind.Tell) {
          const cell = node.cells.get(h.target);
          if (cell !== undefined && !cell.ending) {
            cell.tell(tag, payload, from, h.sender, h.custody);
            return;
          }
        }
        const env = new Envelope(h.kind === RecordKind.Ask ? EnvelopeKind.Ask : EnvelopeKind.Tell, tag, payload, from, h.sender, h.corr, priority, messageId);
        env.custody = h.custody;
        env.trace = trace;
        this.deliver(h.target, env);
        return;
      }
      case RecordKind.Fanout: {
        const [keys, shared, trace] = payload as [number[], unknown, string?];
        const priority = h.priority;
        // More copies than the record keeps the state of: the log keeps the others beside it.
        if (h.custody !== 0 && keys.length > TRACKED_COPIES) node.runtime.custody!.trackCopies(h.custody, keys.length);
        for (let i = 0; i < keys.length; i++) {
          const env = new Envelope(EnvelopeKind.Tell, tag, shared, from, h.sender, 0, priority);
          if (h.custody !== 0) env.custody = copyId(h.custody, i); // each copy kept on its own (custody-log.ts)
          env.trace = trace;
          this.deliver(keys[i]!, env);
        }
        return;
      }
      case RecordKind.Reply:
        if (!node.asks.resolve(h.corr, payload)) node.lateReply(new Envelope(EnvelopeKind.Ask, 'ask', undefined, node.self, h.target, h.corr), payload);
        return;
      case RecordKind.ReplyError: {
        const error = fromWire(payload as WireError);
        if (!node.asks.reject(h.corr, error)) node.lateReply(new Envelope(EnvelopeKind.Ask, 'ask', undefined, node.self, h.target, h.corr), error);
        return;
      }
      case RecordKind.Spawn:
        if (h.corr === 0) {
          node.spawnFromRecord(from, h.target, payload as SpawnRecord);
          return;
        }
        // A batch: one record for several actors (records.ts).
        for (const key of (payload as [SpawnRecord, number[]])[1]) node.spawnFromRecord(from, key, (payload as [SpawnRecord, number[]])[0]);
        return;
      case RecordKind.Stop: {
        // The header object is reused for the next record: capture what the reply needs now.
        const { sender, corr } = h;
        const done = node.stopRef(node.refFor(node.self, h.target), payload === 1, payload === 2);
        // Followed to where it moved, the stop may end with that thread's death: stopped either way.
        const answer = (): void => {
          if (!node.isDead(from)) node.records.reply(from, sender, corr, undefined);
        };
        done.then(answer, answer);
        return;
      }
      case RecordKind.Control:
        node.onControl(from, payload as ControlRecord);
        return;
      case RecordKind.Directive: {
        const { target, sender, corr } = h; // the header object is reused for the next record
        const cell = node.cells.get(target);
        const done = cell === undefined ? Promise.resolve(null) : cell.applyDirective(payload as 'resume');
        void done.then((answer) => {
          if (!node.isDead(from)) node.records.reply(from, sender, corr, answer);
        });
        return;
      }
      default:
        return;
    }
  }

  onDecodeFailure(from: number, h: RecordHeader, error: Error, tag: string): void {
    const node = this.#node;
    const env = (): Envelope => {
      const e = new Envelope(h.kind === RecordKind.Ask ? EnvelopeKind.Ask : EnvelopeKind.Tell, tag, undefined, from, h.sender, h.corr);
      e.custody = h.custody;
      return e;
    };
    const failure = new SerializationError(`message could not be decoded: ${error.message}`, { cause: error });
    if (h.kind === RecordKind.Tell || h.kind === RecordKind.Ask) node.deadLetter(env(), h.target, 'decode-failed', failure);
    // A fan-out whose keys could not be read: one dead letter per copy, addressed to the thread.
    else if (h.kind === RecordKind.Fanout) for (let n = 0; n < h.corr; n++) node.deadLetter(env(), 0, 'decode-failed', failure);
  }

  /**
   * A replacement's start: a user message its predecessor took and did not finish. A tell (or a
   * fan-out copy) goes to the restarted actor ahead of anything newer (held until its restart,
   * arrivals.ts); one whose handler had started goes again only in ack mode, else it is a dead
   * letter. An ask's asker was answered when the thread died: it is a dead letter
   * ('thread-crash'), as is a large payload that was not kept, with what is known.
   */
  onRecovered(from: number, h: RecordHeader, payload: unknown, tag: string, started: boolean, payloadKept: boolean, copies: ((copy: number) => number) | null): void {
    const node = this.#node;
    if (h.kind === RecordKind.Fanout && payloadKept && copies !== null) {
      // Each copy not done goes again to its actor (at most once: one whose handler had
      // started is a dead letter, as a tell's); any whose fate the log does not know (it was
      // full) is a dead letter.
      const [keys, shared, trace] = payload as [number[], unknown, string?];
      let unknown = h.corr;
      for (let i = 0; i < keys.length; i++) {
        const state = copies(i);
        if ((state & (COPY_DONE | COPY_UNKNOWN)) !== 0) continue;
        unknown--;
        const env = new Envelope(EnvelopeKind.Tell, tag, shared, from, h.sender, 0, h.priority);
        env.custody = copyId(h.custody, i);
        env.trace = trace;
        this.#interrupted = (state & COPY_STARTED) !== 0;
        try {
          this.deliver(keys[i]!, env);
        } finally {
          this.#interrupted = false;
        }
      }
      for (let n = 0; n < unknown; n++) {
        const env = new Envelope(EnvelopeKind.Tell, tag, shared, from, h.sender, 0);
        env.custody = h.custody;
        node.deadLetter(env, 0, 'thread-crash');
      }
      return;
    }
    if (h.kind === RecordKind.Tell && payloadKept) {
      // A receipt was answered (as a failure) when the thread died: not again.
      if ((h.priority & WIRE_RECEIPT) !== 0) h.priority &= ~WIRE_RECEIPT;
      this.#interrupted = started;
      try {
        this.onRecord(from, h, payload, tag);
      } finally {
        this.#interrupted = false;
      }
      return;
    }
    let shared = payload;
    let count = 1;
    if (h.kind === RecordKind.Fanout) {
      count = h.corr; // a large fan-out whose payload was not kept
    } else if (payloadKept) {
      if ((h.priority & WIRE_TRACE) !== 0) shared = (shared as [string, unknown])[1];
      if ((h.priority & WIRE_MESSAGE_ID) !== 0) shared = (shared as [string, unknown])[1];
    }
    for (let n = 0; n < count; n++) {
      // Recorded as a tell: the asker has had its answer (ActorFailedError) already.
      const env = new Envelope(EnvelopeKind.Tell, tag, shared, from, h.sender, 0);
      env.custody = h.custody;
      node.deadLetter(env, h.kind === RecordKind.Fanout ? 0 : h.target, 'thread-crash');
    }
  }

  /** Into the actor's mailbox; held if its spawn record is still on its way; else a dead letter. */
  deliver(key: number, env: Envelope): void {
    const node = this.#node;
    const cell = node.cells.get(key);
    if (this.#interrupted) node.arrivals.interrupted.add(env);
    if (cell !== undefined && !cell.ending) {
      cell.enqueue(env);
      return;
    }
    if (cell === undefined && ((node.arrivals.holds(key) && node.unmoved(key)) || node.expecting(key))) {
      node.arrivals.hold(key, env); // its spawn record, or the actor moving here, is still on the way (node/moves.ts)
      return;
    }
    node.deadLetter(env, key, cell === undefined && node.arrivals.ofPredecessor(key) ? 'thread-crash' : node.stopReason);
  }

  /** For an entity whose key lives here (entity/entities.ts): stored, then to its activation; a send's receipt once stored. */
  #toEntity(from: number, h: RecordHeader, wrapped: unknown, tag: string, priority: number, trace: string | undefined): void {
    const node = this.#node;
    let [address, payload, source, posted] = wrapped as [EntityAddress, unknown, SourceMark | null | undefined, number?];
    let messageId: string | undefined;
    if ((priority & WIRE_MESSAGE_ID) !== 0) [messageId, payload] = payload as [string, unknown];
    const { sender, corr } = h; // the header object is reused for the next record
    const receipt = (priority & WIRE_RECEIPT) === 0 ? null : (error: Error | null, duplicate: boolean): void => {
      if (node.isDead(from)) return;
      if (error !== null) node.records.replyError(from, sender, corr, toWire(error));
      else node.records.reply(from, sender, corr, duplicate);
    };
    const kind = h.kind === RecordKind.Ask ? EnvelopeKind.Ask : EnvelopeKind.Tell;
    node.entities.arrive(
      address,
      { kind, type: tag, payload, senderThread: from, senderKey: sender, corr: receipt === null ? corr : 0, priority: priority & (MAX_PRIORITY | QUIET), custody: h.custody, trace, messageId, source: source ?? undefined, posted },
      receipt,
    );
  }

  /** A send with a messageId from another thread: deliver, then tell the sender whether it was a duplicate. */
  #deliverWithReceipt(from: number, h: RecordHeader, tag: string, payload: unknown, messageId: string, priority: number, trace: string | undefined): void {
    const node = this.#node;
    const { target, sender, corr } = h;
    const before = node.runtime.counters[STAT_DUPLICATES]!;
    const env = new Envelope(EnvelopeKind.Tell, tag, payload, from, sender, 0, priority, messageId);
    env.custody = h.custody;
    env.trace = trace;
    this.deliver(target, env);
    // (Held for an actor whose spawn record is still on its way, it is checked when it arrives:
    // the receipt says only what is known now.)
    if (!node.isDead(from)) node.records.reply(from, sender, corr, node.runtime.counters[STAT_DUPLICATES]! > before);
  }
}
