// What passes from an actor to others when it cannot finish its messages itself. Copies of the
// ack-mode tells an actor holds, kept on its spawner's thread (delivery.keepCopies), so that the
// restarted actor gets them again if its thread dies. And what a pool member in ack mode leaves
// unhandled when it stops, handed back to its pool and on to the other members (G4). Both are
// redeliveries of messages accepted once: never counted as accepted again.

import { STAT_RETURNED, STAT_RING_IN } from '../../runtime/layout.js';
import { redeliver } from '../cell/ack-mode.js';
import type { Cell } from '../cell/cell.js';
import { Envelope, EnvelopeKind } from '../cell/envelope.js';
import type { Pool } from '../pool.js';
import type { NodeCore } from '../node/node-core.js';
import { WIRE_REDELIVERY, spawnerOf, type Replica, type ReplicaBatch, type Returned } from '../node/wire.js';


export function returnedEnvelope([type, payload, priority, messageId, , senderThread, senderKey, trace]: Returned): Envelope {
  const env = new Envelope(EnvelopeKind.Tell, type, payload, senderThread, senderKey, 0, priority, messageId ?? undefined);
  env.trace = trace;
  return env;
}

/** What a redelivery record carries (inbound-records.ts reads it back). */
function redelivery(attempt: number, messageId: string | null, senderThread: number, payload: unknown, trace: string | undefined): unknown[] {
  return trace === undefined ? [attempt, messageId, senderThread, payload] : [attempt, messageId, senderThread, payload, trace];
}

export class Handover {
  readonly #host: NodeCore;
  /** Copies to send at the next flush, by spawner thread, then by actor key. */
  readonly #replicaOut = new Map<number, Map<number, ReplicaBatch>>();
  /** Pools created on this thread, by id. */
  readonly #pools = new Map<number, Pool>();
  #poolSeq = 0;

  constructor(host: NodeCore) {
    this.#host = host;
  }

  // ---- copies of ack-mode tells (keepCopies) ------------------------------------------------

  /** True for an actor this thread hosts that another thread spawned: its copies go there. */
  replicates(key: number): boolean {
    return spawnerOf(key) !== this.#host.self;
  }

  get hasCopiesToSend(): boolean {
    return this.#replicaOut.size > 0;
  }

  #batch(key: number): ReplicaBatch {
    const spawner = spawnerOf(key);
    let byKey = this.#replicaOut.get(spawner);
    if (byKey === undefined) this.#replicaOut.set(spawner, (byKey = new Map()));
    let batch = byKey.get(key);
    if (batch === undefined) byKey.set(key, (batch = [key, [], [], false]));
    return batch;
  }

  held(cell: Cell, env: Envelope, seq: number): void {
    const replica: [number, ...Replica] = [seq, env.type, env.payload, env.priority, env.messageId ?? null, env.senderThread, env.senderKey];
    if (env.trace !== undefined) replica.push(env.trace);
    this.#batch(cell.key)[1].push(replica);
  }

  settled(cell: Cell, seq: number): void {
    // As [from, to] ranges: messages mostly finish in the order they came.
    const done = this.#batch(cell.key)[2];
    if (done.length > 0 && done[done.length - 1] === seq - 1) done[done.length - 1] = seq;
    else done.push(seq, seq);
  }

  /** A stopped actor settled everything it held (handled, dead-lettered or handed to its pool). */
  stopped(cell: Cell): void {
    this.#batch(cell.key)[3] = true;
  }

  /**
   * Written before the rings are published (runtime.beforeFlush, and after each drain): a copy
   * reaches the spawner no later than anything the message's handler sent.
   */
  flush(): void {
    const host = this.#host;
    for (const [thread, byKey] of this.#replicaOut) {
      const batches = [...byKey.values()];
      try {
        host.control(thread, ['replicas', batches]);
      } catch {
        // A payload that cannot travel (it came from this thread): that actor's copies stay here.
        for (const batch of batches) {
          try {
            host.control(thread, ['replicas', [batch]]);
          } catch {
            host.control(thread, ['replicas', [[batch[0], [], batch[2], batch[3]]]]);
          }
        }
      }
    }
    this.#replicaOut.clear();
  }

  /**
   * On the spawner's thread, after the actor's thread died: its copies go to the restarted actor
   * as redeliveries, or, when it is not restarted, to its pool's other members or dead letters.
   */
  resend(thread: number, key: number, replicas: Replica[], restarted: boolean, routeeOf: readonly [number, number] | null): void {
    const host = this.#host;
    host.runtime.counters[STAT_RING_IN]! += replicas.length; // in this thread's custody now
    for (const [type, payload, priority, messageId, senderThread, senderKey, trace] of replicas) {
      if (restarted) {
        // The attempt number says "again".
        host.records.tell(thread, key, senderKey, priority | WIRE_REDELIVERY, 0, redelivery(2, messageId, senderThread, payload, trace), type);
      } else if (routeeOf !== null && routeeOf[0] === host.self) {
        this.reroute(routeeOf[1], key, [[type, payload, priority, messageId, 2, senderThread, senderKey, trace]]);
      } else {
        host.deadLetter(returnedEnvelope([type, payload, priority, messageId, 2, senderThread, senderKey, trace]), key, 'thread-crash');
      }
    }
  }

  // ---- pools in ack mode (G4) ---------------------------------------------------------------

  registerPool(pool: Pool): readonly [number, number] {
    const id = ++this.#poolSeq;
    this.#pools.set(id, pool);
    return [this.#host.self, id];
  }

  unregisterPool(id: number): void {
    this.#pools.delete(id);
  }

  /** A stopped member's unhandled tells go to its pool's thread (they leave this thread's custody). */
  returnToPool(cell: Cell, returned: Returned[]): void {
    const host = this.#host;
    const [thread, pool] = cell.policy.routeeOf!;
    if (thread === host.self) {
      this.reroute(pool, cell.key, returned);
      return;
    }
    try {
      host.control(thread, ['returned', pool, cell.key, returned]);
      host.runtime.counters[STAT_RETURNED]! += returned.length;
    } catch {
      // A payload that cannot travel (it came from this thread): they end here instead.
      for (const r of returned) host.deadLetter(returnedEnvelope(r), cell.key, host.stopReason);
    }
  }

  /** On the pool's thread: each message goes to another member, as a redelivery; with none left, a dead letter. */
  reroute(poolId: number, from: number, returned: Returned[]): void {
    const host = this.#host;
    const pool = this.#pools.get(poolId);
    for (const r of returned) {
      const [type, payload, priority, messageId, attempt, senderThread, senderKey, trace] = r;
      const member = pool?.route(type, payload, from) ?? null;
      if (member === null) {
        host.deadLetter(returnedEnvelope(r), from, 'no-routee');
        continue;
      }
      if (member.thread === host.self) {
        const cell = host.cells.get(member.key);
        if (cell === undefined || cell.ending) host.deadLetter(returnedEnvelope(r), member.key, host.stopReason);
        else redeliver(cell, returnedEnvelope(r), attempt);
        continue;
      }
      host.records.tell(member.thread, member.key, senderKey, priority | WIRE_REDELIVERY, 0, redelivery(attempt, messageId, senderThread, payload, trace), type);
    }
  }
}
