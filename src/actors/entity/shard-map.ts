// In a cluster, where each entity shard lives, as every thread of this process reads it: one
// cell per shard in shared memory, written by main (which follows the cluster's shard
// directory, cluster/shards.ts) and read by any thread that sends to an entity, so that a message
// for a key whose shard lives here goes straight to its thread, and any other to main, which
// carries it to the owning node.
//
// Beside the cells, the node's lease on its shards: until when this node may take messages for
// them and write their keys (its last heartbeat that went through, plus less than the time after
// which the others declare it down). A node paused past it (SIGSTOP, a stalled event loop) finds
// it lapsed the moment it wakes, on every thread, before main has read the directory again: what
// arrives for its shards waits, and nothing is written, until main renews it (cluster/shard-lease.ts).

import { fnv1a } from '../hash.js';

/** The shard of an entity's key: the same on every node. */
export function shardOf(name: string, key: string, count: number): number {
  return fnv1a(`${name}\u0000${key}`) % count;
}

export const enum ShardPlace {
  /** No owner known (yet): main holds what is sent to it. */
  Unknown = 0,
  /** This node owns it: its keys live on this process's threads. */
  Here = 1,
  /** Another node owns it, or this one is handing it over. */
  Elsewhere = 2,
}

/** Bytes before the cells: the lease (a 64-bit integer, ms since the epoch). */
const LEASE_BYTES = 8;

export class ShardMap {
  readonly buffer: SharedArrayBuffer;
  readonly count: number;
  readonly #cells: Int32Array;
  readonly #lease: BigInt64Array;

  constructor(bufferOrCount: SharedArrayBuffer | number) {
    this.buffer = typeof bufferOrCount === 'number' ? new SharedArrayBuffer(LEASE_BYTES + bufferOrCount * 4) : bufferOrCount;
    this.#lease = new BigInt64Array(this.buffer, 0, 1);
    this.#cells = new Int32Array(this.buffer, LEASE_BYTES);
    this.count = this.#cells.length;
  }

  /** Whether this node's lease on its shards holds now (a message for one of them is taken only then). */
  held(): boolean {
    return Date.now() < Number(Atomics.load(this.#lease, 0));
  }

  /** Until when the lease holds (0: it does not). */
  leaseUntil(): number {
    return Number(Atomics.load(this.#lease, 0));
  }

  setLease(untilMs: number): void {
    Atomics.store(this.#lease, 0, BigInt(Math.floor(untilMs)));
  }

  shardOf(name: string, key: string): number {
    return shardOf(name, key, this.count);
  }

  place(shard: number): ShardPlace {
    return Atomics.load(this.#cells, shard) as ShardPlace;
  }

  /** Whether the key lives on this node now. */
  here(name: string, key: string): boolean {
    return this.place(this.shardOf(name, key)) === ShardPlace.Here;
  }

  set(shard: number, place: ShardPlace): void {
    Atomics.store(this.#cells, shard, place);
  }
}
