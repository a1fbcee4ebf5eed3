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
  readonly #downAfterMs: number;
  /** How long a heartbeat holds the lease for the threads, from when it was sent. */
  readonly #leaseMs: number;
  readonly #logger: Logger;
  /** When the last heartbeat that renewed the lease was sent. */
  #lastOk = 0;
  /** The directory is suspended (since when): renewed only by a heartbeat sent after that, once the directory is read again. */
  #suspendedAt: number | null = null;
  /** A reading of the directory under way. */
  #resuming = false;
  /** When the latest heartbeat since the suspension was sent. */
  #next = 0;

  constructor(map: ShardMap, directory: () => ShardDirectory | null, downAfterMs: number, logger: Logger) {
    this.#map = map;
    this.#directory = directory;
    this.#downAfterMs = downAfterMs;
    // The threads stop a tenth early: the margin covers what lies between a look at the lease and a write landing.
    this.#leaseMs = downAfterMs - Math.ceil(downAfterMs / 10);
    this.#logger = logger;
  }

  /** A heartbeat sent at `sentAt` went through. */
  beat(sentAt: number): void {
    const directory = this.#directory();
    if (directory === null || (this.#suspendedAt === null && Date.now() < this.#lastOk + this.#downAfterMs)) {
      // Its key never expired since the last one (or nothing is held yet: the directory is read at its start anyway).
      this.#renew(sentAt);
      return;
    }
    this.#suspend(directory);
    if (sentAt < this.#suspendedAt!) return; // sent before the suspension: it says nothing of what happened since
    this.#next = Math.max(this.#next, sentAt);
    if (this.#resuming) return;
    this.#resuming = true;
    directory.resume().then(
      () => {
        this.#resuming = false;
        if (this.#suspendedAt === null) return;
        this.#suspendedAt = null;
        this.#renew(this.#next);
        this.#logger.warn('cluster: the lease on entity shards holds again: the shard directory was read again, and this node took back what it still holds');
      },
      (error: unknown) => {
        this.#resuming = false; // tried again at the next heartbeat
        this.#logger.warn(`cluster: the shard directory could not be read again yet: ${(error as Error).message}`);
      },
    );
  }

  /**
   * At each heartbeat's tick. The threads stopped at the lease's end already; main suspends the
   * directory once the node may have been declared down (downAfterMs since its last heartbeat
   * that went through was sent), without waiting for the next heartbeat to go through.
   */
  check(): void {
    const directory = this.#directory();
    if (directory !== null && this.#suspendedAt === null && Date.now() >= this.#lastOk + this.#downAfterMs) this.#suspend(directory);
  }

  /** The connection to NATS is gone for good: the directory is suspended, what waits here goes on to main (and fails there). */
  lost(): void {
    const directory = this.#directory();
    this.#map.setLease(0);
    if (directory !== null) this.#suspend(directory);
  }

  #renew(sentAt: number): void {
    this.#lastOk = Math.max(this.#lastOk, sentAt);
    this.#map.setLease(Math.max(this.#lastOk + this.#leaseMs, this.#map.leaseUntil()));
  }

  #suspend(directory: ShardDirectory): void {
    if (this.#suspendedAt !== null) return;
    this.#suspendedAt = Date.now();
    this.#next = 0;
    this.#logger.warn(`cluster: this node's lease on its entity shards lapsed (no heartbeat went through for ${this.#suspendedAt - this.#lastOk} ms): its shards are let go here until the directory is read again`);
    directory.suspend();
  }
}
