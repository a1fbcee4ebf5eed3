// A node's lease on its entity shards. The membership's TTL is every node's lease (shards.ts):
// the others declare a node down once its key has expired, downAfterMs after its last heartbeat
// was stored, and take its shards. So a node holds its shards only until downAfterMs after it sent
// its last heartbeat that went through (less a margin), and every thread reads that bound in
// shared memory (shard-map.ts) before it takes a message for a shard or writes a key of one.
//
// A node paused past it (SIGSTOP, a stalled event loop, NATS out of reach) finds it lapsed when
// it wakes, on every thread at once. It may have been declared down meanwhile, and its shards
// taken, before its watch of the directory says so: main suspends the directory (its shards are
// let go here), and renews the lease only once a heartbeat went through again and the directory
// was read whole. A heartbeat whose answer comes after the lease lapsed proves nothing of the
// time between: it renews nothing by itself either.

import type { Logger } from '../actors/logger.js';
import type { ShardMap } from '../actors/entity/shard-map.js';
import type { ShardDirectory } from './shards.js';

export class ShardLease {
  readonly #map: ShardMap;
  readonly #directory: () => ShardDirectory | null;
  /** How long a heartbeat holds the lease, from when it was sent. */
  readonly #leaseMs: number;
  readonly #logger: Logger;
  /** The lease lapsed: the directory is suspended until a heartbeat goes through and it is read again. */
  #suspended = false;
  /** A reading of the directory under way. */
  #resuming = false;
  /** Until when the latest heartbeat would hold the lease, once the directory is read again. */
  #next = 0;

  constructor(map: ShardMap, directory: () => ShardDirectory | null, downAfterMs: number, logger: Logger) {
    this.#map = map;
    this.#directory = directory;
    // The margin covers what lies between a thread's look at the lease and its write landing.
    this.#leaseMs = downAfterMs - Math.ceil(downAfterMs / 10);
    this.#logger = logger;
  }

  /** A heartbeat sent at `sentAt` went through. */
  beat(sentAt: number): void {
    const until = sentAt + this.#leaseMs;
    const directory = this.#directory();
    if (directory === null || (!this.#suspended && this.#map.held())) {
      // Held all along (or nothing held yet: the directory is read at its start anyway).
      this.#map.setLease(Math.max(until, this.#map.leaseUntil()));
      return;
    }
    this.#suspend(directory);
    this.#next = until;
    if (this.#resuming) return;
    this.#resuming = true;
    directory.resume().then(
      () => {
        this.#resuming = false;
        this.#suspended = false;
        this.#map.setLease(this.#next);
        this.#logger.warn('cluster: the lease on entity shards holds again: the shard directory was read again, and this node took back what it still holds');
      },
      (error: unknown) => {
        this.#resuming = false; // tried again at the next heartbeat
        this.#logger.warn(`cluster: the shard directory could not be read again yet: ${(error as Error).message}`);
      },
    );
  }

  /** At each heartbeat's tick: a lease that lapsed suspends the directory at once, without waiting for the next heartbeat to go through. */
  check(): void {
    const directory = this.#directory();
    if (directory !== null && !this.#map.held()) this.#suspend(directory);
  }

  #suspend(directory: ShardDirectory): void {
    if (this.#suspended) return;
    this.#suspended = true;
    const until = this.#map.leaseUntil();
    this.#logger.warn(`cluster: this node's lease on its entity shards lapsed ${Date.now() - until} ms ago (no heartbeat went through in time): its shards are let go here until the directory is read again`);
    directory.suspend();
  }
}
