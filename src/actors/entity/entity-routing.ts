// In a cluster, the host of entity refs on a thread: a call to a key whose shard lives on this
// node goes the way it does without a cluster (to the key's thread), any other to the node that
// owns the shard, through main (node/cross-node.ts): the same calls, errors and checks either way.

import type { ActorRefImpl, RefHost } from '../actor-ref.js';
import type { CrossNodePort } from '../node/cross-node.js';
import type { AskOptions, MessageOptions, SendOptions, SendResult } from '../types.js';
import { invalid } from '../../validate.js';
import { MAX_MESSAGE_ID_BYTES, byteLength } from './entity-ids.js';
import type { EntityAddress } from './entity-ref.js';
import type { ShardMap } from './shard-map.js';

const ACCEPTED: Promise<SendResult> = Promise.resolve({ duplicate: false });

/** Holds what an entity's handler tells an entity, for its commit (true: held). */
export type HoldForCommit = (address: EntityAddress, type: string, payload: unknown, trace: string | undefined) => boolean;

export class EntityRouting implements RefHost {
  readonly #node: RefHost & { readonly crossNode: CrossNodePort };
  readonly #map: ShardMap;
  readonly #hold: HoldForCommit;

  constructor(node: RefHost & { readonly crossNode: CrossNodePort }, map: ShardMap, hold: HoldForCommit) {
    this.#node = node;
    this.#map = map;
    this.#hold = hold;
  }

  idOf(key: number): string {
    return this.#node.idOf(key);
  }

  refFor(thread: number, key: number): ActorRefImpl {
    return this.#node.refFor(thread, key);
  }

  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined): void {
    const address = ref.entity!;
    if (this.#map.here(address[1], address[2])) {
      this.#node.tell(ref, type, payload, options);
      return;
    }
    checkMessageId(options);
    if (this.#hold(address, type, payload, typeof options?.trace === 'string' ? options.trace : undefined)) return;
    void this.#node.crossNode.entity(address, 'tell', type, payload, options, null);
  }

  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    const address = ref.entity!;
    if (this.#map.here(address[1], address[2])) return this.#node.send(ref, type, payload, options);
    try {
      checkMessageId(options);
      // An entity's handler sending: held for its commit (the outbox), as on this node, and accepted now.
      if (this.#hold(address, type, payload, typeof options?.trace === 'string' ? options.trace : undefined)) return ACCEPTED;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#away(address, 'send', type, payload, options) as Promise<SendResult>;
  }

  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    const address = ref.entity!;
    if (this.#map.here(address[1], address[2])) return this.#node.ask(ref, type, payload, options);
    return this.#away(address, 'ask', type, payload, options);
  }

  #away(address: EntityAddress, kind: 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    try {
      checkMessageId(options);
      return this.#node.crossNode.entity(address, kind, type, payload, options, null)!;
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

/** The same check as a call to an entity of this node: a messageId is kept under a key of bounded size. */
function checkMessageId(options: MessageOptions | undefined): void {
  const messageId = options?.messageId;
  if (messageId === undefined) return;
  if (typeof messageId !== 'string') throw invalid('options.messageId', 'a string', messageId);
  if (byteLength(messageId) > MAX_MESSAGE_ID_BYTES) throw invalid('options.messageId', `at most ${MAX_MESSAGE_ID_BYTES} bytes (UTF-8) for an entity`, messageId);
}
