// In a cluster, one thread's share of the entity shards its node owns. A message for a key is
// taken here only while its shard lives on this node (shard-map.ts), once this thread has read
// the shard (its keys with messages waiting, from the store the nodes share) and the key itself,
// and while the node's lease on its shards holds (shard-map.ts); until then it waits, in order.
// One whose shard is elsewhere goes on to main, which carries it to the owner: so a message that
// set out just as its shard moved still reaches the one activation.

import type { EntityAddress } from './entity-ref.js';
import type { EntityStore } from './entity-store.js';
import { ShardPlace, type ShardMap } from './shard-map.js';

/** The store the nodes of a cluster share (cluster/shared-entity-store.ts): read by shard and by key. */
export interface ShardedStore extends EntityStore {
  /** Null once the key is read here; else the promise of its reading. */
  load(id: string): Promise<void> | null;
  /** Reads the shards this node took: resolves with their keys (of this thread) that have something waiting. */
  acquire(shards: ReadonlySet<number>): Promise<string[]>;
  /** Forgets what was read of shards this node gave up. */
  release(shards: ReadonlySet<number>): void;
  /** Resolves once the record writes of `ids` under way are done. */
  settled(ids: Iterable<string>): Promise<void>;
  rememberModule(name: string, moduleUrl: string): void;
}

/** How often arrivals waiting for the node's lease look at it again. */
const LEASE_POLL_MS = 20;

/** How an arrival goes on: `again` takes it up where it waited, `fail` refuses it. */
interface Waiting {
  readonly again: () => void;
  readonly fail: (error: Error) => void;
}

export class EntityShards {
  readonly map: ShardMap;
  readonly #open: () => Promise<ShardedStore>;
  #opening: Promise<ShardedStore> | null = null;
  #store: ShardedStore | null = null;
  /** Shards this thread has read. */
  readonly #ready = new Set<number>();
  /** Arrivals waiting for their shard to be read. */
  readonly #forShard = new Map<number, Waiting[]>();
  /** Arrivals waiting for their key to be read. */
  readonly #forKey = new Map<string, Waiting[]>();
  /** Arrivals waiting for the node's lease to be renewed (or their shard to leave). */
  #forLease: Waiting[] = [];
  #leaseTimer: NodeJS.Timeout | null = null;

  constructor(map: ShardMap, open: () => Promise<ShardedStore>) {
    this.map = map;
    this.#open = open;
  }

  /** The shared store, opened at the first call. */
  store(): Promise<ShardedStore> {
    this.#opening ??= this.#open().then(
      (store) => (this.#store = store),
      (error: unknown) => {
        this.#opening = null; // tried again at the next call
        throw error;
      },
    );
    return this.#opening;
  }

  /**
   * Whether an arrival for `address` (`id`) is taken now: 'here'; 'elsewhere' (its shard is not
   * this node's: the caller sends it on); or 'waits' (for its shard or key to be read: `waiting`
   * takes it up then).
   */
  admit(address: EntityAddress, id: string, waiting: Waiting): 'here' | 'elsewhere' | 'waits' {
    const shard = this.map.shardOf(address[1], address[2]);
    if (this.map.place(shard) !== ShardPlace.Here) return 'elsewhere';
    if (!this.#ready.has(shard) || this.#store === null) {
      push(this.#forShard, shard, waiting);
      return 'waits';
    }
    const queued = this.#forKey.get(id);
    if (queued !== undefined) {
      queued.push(waiting);
      return 'waits';
    }
    const loading = this.#store.load(id);
    if (loading === null) {
      if (this.map.held() && this.#forLease.length === 0) return 'here';
      // Paused past its lease, this node may have lost the shard without knowing it yet (and what
      // waits for the lease goes first: in order).
      this.#forLease.push(waiting);
      this.#leaseTimer ??= setTimeout(() => this.#leaseChecked(), LEASE_POLL_MS);
      return 'waits';
    }
    const queue = [waiting];
    this.#forKey.set(id, queue);
    loading.then(
      () => {
        this.#forKey.delete(id);
        for (const w of queue) w.again();
      },
      (error: Error) => {
        this.#forKey.delete(id);
        for (const w of queue) w.fail(error);
      },
    );
    return 'waits';
  }

  /**
   * What waits for the lease is looked at again every few milliseconds: main renews it, or marks
   * the shards elsewhere until it has read the directory again (then it goes on to main). The
   * lease is in shared memory, and main tells the threads nothing when it renews it.
   */
  #leaseChecked(): void {
    this.#leaseTimer = null;
    const waiting = this.#forLease;
    this.#forLease = [];
    for (const w of waiting) w.again(); // those that must wait still come back, in order
  }

  /** `shards` are read (acquired): what waited for them goes on. */
  ready(shards: readonly number[]): void {
    this.#change(shards, true);
  }

  /** `shards` are no longer this thread's: what waited for them goes on (to main, as their place now says). */
  unready(shards: readonly number[]): void {
    this.#change(shards, false);
  }

  #change(shards: readonly number[], ready: boolean): void {
    for (const shard of shards) {
      if (ready) this.#ready.add(shard);
      else this.#ready.delete(shard);
      const waiting = this.#forShard.get(shard);
      if (waiting === undefined) continue;
      this.#forShard.delete(shard);
      for (const w of waiting) w.again();
    }
  }
}

function push<K>(map: Map<K, Waiting[]>, key: K, waiting: Waiting): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [waiting]);
  else list.push(waiting);
}
