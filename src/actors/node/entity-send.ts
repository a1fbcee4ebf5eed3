// An entity's outbox sends through this (entity/outbox.ts): to the thread that owns the target's
// key, settled once that thread has stored it (or found it taken, a duplicate); to main, for a
// key another node owns; refused at once for a thread that died (the message stays in the
// outbox for the next start).

import { ActorStoppedError } from '../../errors.js';
import { STAT_ACCEPTED } from '../../runtime/layout.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import type { SendResult } from '../types.js';
import { EnvelopeKind } from '../cell/envelope.js';
import type { Entities } from '../entity/entities.js';
import type { SendToEntity } from '../entity/entity-host.js';
import type { AskTable } from './ask.js';
import type { CrossNodePort } from './cross-node.js';
import type { RecordWriter } from './records.js';
import { WIRE_ENTITY, WIRE_RECEIPT, WIRE_TRACE } from './wire.js';

/** What sending to an entity needs of its thread's host (node.ts). */
export interface EntitySendHost {
  readonly self: number;
  readonly runtime: ThreadRuntime;
  readonly asks: AskTable;
  readonly askTimeoutMs: number;
  readonly records: RecordWriter;
  readonly entities: Entities;
  readonly crossNode: CrossNodePort;
  isDead(thread: number): boolean;
}

/** The outbox's send for the thread of `node`. */
export function entitySender(node: EntitySendHost): SendToEntity {
  return (address, type, payload, trace, source, settle) => {
    if (node.entities.elsewhere(address)) {
      // Another node owns its shard: main carries it there.
      try {
        node.crossNode.entity(address, 'send', type, payload, trace === undefined ? undefined : { trace }, source)!.then(
          (result) => settle(null, (result as SendResult).duplicate),
          (error: Error) => settle(error, false),
        );
      } catch (error) {
        settle(error as Error, false);
      }
      return;
    }
    const thread = node.entities.entityRef(address).thread;
    if (thread === node.self) {
      node.runtime.counters[STAT_ACCEPTED]!++;
      node.entities.arrive(address, { kind: EnvelopeKind.Tell, type, payload, senderThread: node.self, senderKey: 0, corr: 0, priority: 0, custody: 0, trace, messageId: undefined, source }, settle);
      return;
    }
    if (node.isDead(thread)) {
      settle(new ActorStoppedError(`thread ${thread} died: the message stays in the outbox for the next start`), false);
      return;
    }
    const { corr, promise } = node.asks.open(node.askTimeoutMs, () => `outbox ${type} to ${address[1]}/${address[2]}`, thread);
    promise.then(
      (duplicate) => settle(null, duplicate === true),
      (error: Error) => settle(error, false),
    );
    let wrapped: unknown = [address, payload, source];
    let priority = WIRE_ENTITY | WIRE_RECEIPT;
    if (trace !== undefined) {
      wrapped = [trace, wrapped];
      priority |= WIRE_TRACE;
    }
    try {
      node.records.tell(thread, 0, 0, priority, corr, wrapped, type);
      node.runtime.counters[STAT_ACCEPTED]!++;
    } catch (error) {
      node.asks.reject(corr, error as Error);
    }
  };
}
