// In a cluster, where each entity shard lives, as every thread of this process reads it: one
// cell per shard in shared memory, written by main (which follows the cluster's shard
// directory, cluster/shards.ts) and read by any thread that sends to an entity, so that a message
// for a key whose shard lives here goes straight to its thread, and any other to main, which
// carries it to the owning node.

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

export class ShardMap {
  readonly buffer: SharedArrayBuffer;
  readonly count: number;
  readonly #cells: Int32Array;

  constructor(bufferOrCount: SharedArrayBuffer | number) {
    this.buffer = typeof bufferOrCount === 'number' ? new SharedArrayBuffer(bufferOrCount * 4) : bufferOrCount;
    this.#cells = new Int32Array(this.buffer);
    this.count = this.#cells.length;
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
