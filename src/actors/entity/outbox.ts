// The output gate of entities. What an entity's handler tells or sends to other entities is held
// until the handler's commit, written in that same transaction (the outbox), and released once
// the commit is done; a message leaves the outbox once its target has stored it, and one still
// there at start is sent again. Each carries its source: the sending key and its number among
// everything that key sent. A target takes each number from a source once, keeping the highest
// with its state (a mark per source, committed with the message's end): messages from one source
// reach one target in order, so a resend after a crash is dropped however late it comes, with no
// time window. A chain of entities so has effectively-once effects across any crash.

import { encodeStandalone, prepare } from '../../runtime/codec.js';
import { decodeOn, type EntityHost, type SendToEntity } from './entity-host.js';
import { homeOf, idOf, splitId } from './entity-ids.js';
import type { EntityAddress } from './entity-ref.js';
import type { EntityStore, OutboxEntry, SourceMark } from './entity-store.js';

/** A message a handler sent to an entity, held for its commit. */
export interface HeldMessage {
  readonly address: EntityAddress;
  readonly type: string;
  readonly payload: unknown;
  readonly trace: string | undefined;
}

type Record_ = [address: EntityAddress, type: string, payload: unknown, trace: string | null];

/** An outbox message on its way. */
interface Outgoing {
  readonly entry: OutboxEntry;
  readonly address: EntityAddress;
  readonly type: string;
  readonly payload: unknown;
  readonly trace: string | undefined;
}

/** How soon a message that could not go (its target's thread was dead, or replacing) is tried again. */
const RETRY_MS = 100;

export class Outbox {
  readonly #host: EntityHost;
  readonly #store: () => EntityStore;
  readonly #send: SendToEntity;
  /** The last number each source of this thread gave. */
  readonly #lastOut = new Map<string, number>();
  /** The highest number each target of this thread has taken from each source (`${target}\0${source}`). */
  readonly #marks = new Map<string, number>();
  /** Per target, what waits behind a message that could not go, in order. */
  readonly #blocked = new Map<string, Outgoing[]>();

  constructor(host: EntityHost, store: () => EntityStore, send: SendToEntity) {
    this.#host = host;
    this.#store = store;
    this.#send = send;
  }

  /** Numbers what `sourceId`'s handler sent, for its commit. */
  number(sourceId: string, held: readonly HeldMessage[]): OutboxEntry[] {
    let last = this.#lastOut.get(sourceId) ?? this.#store().lastOut(sourceId);
    const entries = held.map((m) => {
      const record: Record_ = [m.address, m.type, m.payload, m.trace ?? null];
      return { sourceId, outSeq: ++last, record: encodeStandalone(prepare(record)) };
    });
    this.#lastOut.set(sourceId, last);
    return entries;
  }

  /** After the commit: each goes, in order; it leaves the outbox once its target has it. */
  release(entries: readonly OutboxEntry[]): void {
    for (const entry of entries) {
      const [address, type, payload, trace] = decodeOn(this.#host, entry.record) as Record_;
      this.#go({ entry, address, type, payload, trace: trace ?? undefined });
    }
  }

  /**
   * Sends one, unless an earlier one to the same target could not go (its thread was dead): then
   * it waits behind that one, so that the target takes them in order (a later number taken first
   * would make it drop the earlier as taken).
   */
  #go(out: Outgoing): void {
    const target = idOf(out.address);
    const waiting = this.#blocked.get(target);
    if (waiting !== undefined) {
      waiting.push(out);
      return;
    }
    this.#send(out.address, out.type, out.payload, out.trace, [out.entry.sourceId, out.entry.outSeq], (error) => {
      if (error !== null) {
        this.#block(target, out);
        return;
      }
      void this.#store().sent(out.entry.sourceId, out.entry.outSeq).catch(() => undefined);
    });
  }

  /** `out` could not go to `target`: it, and what follows it there, go again in a while, in order. */
  #block(target: string, out: Outgoing): void {
    const waiting = this.#blocked.get(target);
    if (waiting !== undefined) waiting.unshift(out);
    else this.#blocked.set(target, [out]);
    this.#host.clock.setTimeout(() => {
      const queue = this.#blocked.get(target) ?? [];
      this.#blocked.delete(target);
      for (const next of queue) this.#go(next);
    }, RETRY_MS);
  }

  /** Whether `targetId` took this number from its source already (then the message is dropped); if not, it is taken now. */
  taken(targetId: string, [sourceId, outSeq]: SourceMark): boolean {
    const key = `${targetId}\u0000${sourceId}`;
    const mark = this.#marks.get(key) ?? this.#store().mark(targetId, sourceId);
    if (outSeq <= mark) return true;
    this.#marks.set(key, outSeq);
    return false;
  }

  /** At start: what the outboxes of this thread's keys still hold goes again, in order. */
  /** Forgets what is cached of the keys `which` picks (their shard left this node: the next owner reads the store). */
  forget(which: (id: string) => boolean): void {
    for (const id of [...this.#lastOut.keys()]) if (which(id)) this.#lastOut.delete(id);
    for (const key of [...this.#marks.keys()]) if (which(key.slice(0, key.indexOf('\u0000', key.indexOf('\u0000') + 1)))) this.#marks.delete(key);
    // What its sources here had not sent yet is in their records: their next owner sends it.
    for (const [target, queue] of [...this.#blocked]) {
      const left = queue.filter((out) => !which(out.entry.sourceId));
      if (left.length === 0) this.#blocked.delete(target);
      else this.#blocked.set(target, left);
    }
  }

  recover(only: ReadonlySet<string> | null = null): void {
    const host = this.#host;
    const byHere: OutboxEntry[] = [];
    for (const entry of this.#store().outbox()) {
      if (only !== null && !only.has(entry.sourceId)) continue;
      const [name, key] = splitId(entry.sourceId);
      if (homeOf(name, key, host.workers) === host.self) byHere.push(entry);
    }
    this.release(byHere);
  }
}
