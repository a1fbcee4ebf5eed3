// Topics across the nodes of a cluster. A topic has one NATS subject; a node subscribes to it
// while it has plain subscribers of the topic (and skips what it published itself: those it
// handed out at once), and once per group that has members here, as a NATS queue group of that
// group's name, so that NATS hands each group's copy to one node, which hands it to one member.
// A publish goes out as one NATS message, whatever the number of nodes and groups.

import type { Logger } from '../actors/logger.js';
import { MessageTooLargeError, NodeDownError } from '../errors.js';
import type { WireOptions } from '../actors/node/wire.js';
import type { MessageOptions } from '../actors/types.js';
import type { TopicTable } from '../actors/node/topics.js';
import type { NatsConnection } from './nats.js';
import { decodeBatch, encodeBatch, Entry, PROTOCOL, subjectToken } from './wire-batch.js';

/** What the bridge hands a message to: main's topics (topics.ts deliver). */
export type Deliver = (topic: string, group: string | null, type: string, payload: unknown, options: MessageOptions | undefined) => void;

interface Subscription {
  unsubscribe(): void;
}


export class TopicBridge {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #stamp: readonly [string, string];
  readonly #table: TopicTable;
  readonly #deliver: Deliver;
  readonly #decoder: unknown;
  readonly #logger: Logger;
  readonly #maxPayload: number;
  /** By topic: the plain subscription and one queue subscription per group, as NATS has them now. */
  readonly #subs = new Map<string, { plain: Subscription | null; groups: Map<string, Subscription> }>();

  constructor(nc: NatsConnection, namespace: string, stamp: readonly [string, string], table: TopicTable, deliver: Deliver, decoder: unknown, logger: Logger) {
    this.#nc = nc;
    this.#maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.#prefix = `${namespace}.t.`;
    this.#stamp = stamp;
    this.#table = table;
    this.#deliver = deliver;
    this.#decoder = decoder;
    this.#logger = logger;
  }

  /** Sends a publish to the other nodes and to every group; throws, typed, if it cannot go. */
  publish(topic: string, type: string, payload: unknown, options: WireOptions | null): void {
    const bytes = encodeBatch(this.#stamp, [[Entry.Publish, topic, type, payload, options]]);
    if (bytes.length > this.#maxPayload) throw new MessageTooLargeError(`a message of ${bytes.length} bytes encoded, over the NATS server's max_payload (${this.#maxPayload}): topic ${JSON.stringify(topic)}`);
    try {
      this.#nc.publish(this.#prefix + subjectToken(topic), bytes);
    } catch (error) {
      throw new NodeDownError(`the publish to topic ${JSON.stringify(topic)} cannot reach the other nodes: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The subscribers of `topic` here changed: NATS is told what to deliver here now. */
  changed(topic: string): void {
    const want = this.#table.interest(topic);
    let subs = this.#subs.get(topic);
    if (subs === undefined) this.#subs.set(topic, (subs = { plain: null, groups: new Map() }));
    if (want.plain && subs.plain === null) subs.plain = this.#subscribe(topic, null);
    if (!want.plain && subs.plain !== null) {
      subs.plain.unsubscribe();
      subs.plain = null;
    }
    for (const group of want.groups) if (!subs.groups.has(group)) subs.groups.set(group, this.#subscribe(topic, group));
    for (const [group, sub] of subs.groups) {
      if (want.groups.includes(group)) continue;
      sub.unsubscribe();
      subs.groups.delete(group);
    }
    if (subs.plain === null && subs.groups.size === 0) this.#subs.delete(topic);
  }

  close(): void {
    for (const subs of this.#subs.values()) {
      subs.plain?.unsubscribe();
      for (const sub of subs.groups.values()) sub.unsubscribe();
    }
    this.#subs.clear();
  }

  #subscribe(topic: string, group: string | null): Subscription {
    const subject = this.#prefix + subjectToken(topic);
    const callback = (error: Error | null, msg: { readonly data: Uint8Array }): void => {
      if (error !== null) return;
      try {
        const [protocol, systemId, , calls] = decodeBatch(msg.data, this.#decoder);
        if (protocol !== PROTOCOL) throw new Error(`cluster protocol ${protocol} is not this node's (${PROTOCOL})`);
        // A plain copy of what this node published: its plain subscribers had theirs at once.
        if (group === null && systemId === this.#stamp[0]) return;
        for (const call of calls) {
          if (call[0] !== Entry.Publish || call[1] !== topic) continue;
          this.#deliver(topic, group, call[2], call[3], (call[4] ?? undefined) as MessageOptions | undefined);
        }
      } catch (failure) {
        this.#logger.error(`cluster: a message published to topic ${JSON.stringify(topic)} could not be taken: ${(failure as Error).message}`);
      }
    };
    return group === null ? this.#nc.subscribe(subject, { callback }) : this.#nc.subscribe(subject, { queue: subjectToken(group), callback });
  }
}
