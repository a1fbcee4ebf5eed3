// Shards: what a cluster places by key (its entities, next) is spread over a fixed number of
// shards, each owned by one node at a time. Who owns a shard is a key of a KV bucket, written
// only by compare-and-set, so two nodes can never both hold it in the directory. The node a
// shard should live on is the highest rendezvous score of (shard, node) among the live members:
// that node claims it when it is free, or when its owner is no longer a member (the membership's
// TTL is every node's lease: there is none per shard, and none per key); an owner that sees a
// live member preferred for one of its shards hands it over, and a node that leaves on purpose
// hands all of its shards over at once. No leader: every node runs the same rules on the same
// directory. Entities live on the node that holds their shard (entity-router.ts).
//
// A node whose lease lapsed (no heartbeat went through for about downAfterMs: it was paused, or
// cut off) may have been declared down, and its shards taken, without its watch having said so
// yet: it suspends the directory (every shard it held is released here, nothing is claimed), and
// resumes it only by reading the whole directory again once a heartbeat goes through.

import { EventEmitter } from 'node:events';
import { fnv1a, score } from '../actors/hash.js';
import type { Logger } from '../actors/logger.js';
import type { KV } from './nats.js';

/** How often the directory's watch is made again, by default. */
const REWATCH_MS = 30_000;

export interface ShardOwner {
  /** The owner's system id (one per process start). */
  readonly id: string;
  readonly name: string;
}

interface Claim {
  readonly owner: ShardOwner;
  readonly revision: number;
}

export interface ShardEvents {
  /** This node holds `shard` now. */
  acquired: [shard: number];
  /** This node no longer holds `shard` (handed over, or taken by another after it was declared gone). */
  released: [shard: number];
  /** Who holds `shard` changed (or it became free), as this node reads the directory. */
  owner: [shard: number];
}

export { shardOf } from '../actors/entity/shard-map.js';

/** The member `shard` should live on: the highest rendezvous score (ties: the lower id). */
export function preferred(shard: number, members: readonly ShardOwner[]): ShardOwner | null {
  let best: ShardOwner | null = null;
  let bestScore = -1;
  for (const member of members) {
    const h = score(shard, fnv1a(member.id));
    if (h > bestScore || (h === bestScore && best !== null && member.id < best.id)) {
      best = member;
      bestScore = h;
    }
  }
  return best;
}

/** Rounds of hand-overs a leaving node makes, and the pause between two. */
const LEAVE_ROUNDS = 3;
const LEAVE_RETRY_MS = 200;

export class ShardDirectory extends EventEmitter<ShardEvents> {
  readonly count: number;
  readonly #kv: KV;
  readonly #self: ShardOwner;
  /** The live members now, this node among them. */
  readonly #members: () => readonly ShardOwner[];
  readonly #logger: Logger;
  /** The directory as last read or watched: by shard. */
  readonly #claims = new Map<number, Claim>();
  #watch: { stop(): void } | null = null;
  #closed = false;
  /** Shards this node is handing over: 'released' was said already, before the write. */
  readonly #releasing = new Set<number>();
  /** Hand-overs under way, by shard. */
  readonly #handing = new Map<number, Promise<void>>();
  /** A pass of rebalance() under way: another waits for it rather than racing it. */
  #balancing: Promise<void> | null = null;
  /** What must be done with a shard here before it is handed over (what lives on it stops). */
  readonly #drain: (shard: number) => Promise<void>;
  /** How often the watch is made again (#keepWatching). */
  readonly #rewatchMs: number;
  /** The lease lapsed: this node holds nothing here until resume() read the directory again. */
  #suspended = false;
  /** leave() was called: a resume() under way acquires nothing. */
  #leaving = false;

  constructor(kv: KV, count: number, self: ShardOwner, members: () => readonly ShardOwner[], logger: Logger, drain: (shard: number) => Promise<void> = () => Promise.resolve(), rewatchMs = REWATCH_MS) {
    super();
    this.#rewatchMs = rewatchMs;
    this.#drain = drain;
    this.#kv = kv;
    this.count = count;
    this.#self = self;
    this.#members = members;
    this.#logger = logger;
  }

  /** Reads the directory, keeps it up to date, and claims what this node should hold. */
  async start(): Promise<void> {
    const keys = await this.#kv.keys('s.>');
    for await (const key of keys) {
      const entry = await this.#kv.get(key);
      if (entry !== null && entry.operation === 'PUT') this.#record(entry.key, entry.string(), entry.revision);
    }
    void this.#keepWatching();
    await this.rebalance();
  }

  /**
   * Follows the directory. The watch is made again every rewatchMs, and whenever it ends: a new
   * watch's first values are the whole directory, so one that stalled (seen after the process was
   * paused) keeps this node blind to it for rewatchMs at most.
   */
  async #keepWatching(): Promise<void> {
    while (!this.#closed) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const watch = await this.#kv.watch({ key: 's.>' });
        this.#watch = watch;
        if (this.#closed) watch.stop();
        timer = setTimeout(() => watch.stop(), this.#rewatchMs);
        timer.unref();
        for await (const entry of watch) {
          if (this.#closed) break;
          if (entry.operation === 'PUT') this.#record(entry.key, entry.string(), entry.revision);
          else this.#forget(entry.key, entry.revision);
        }
      } catch (error) {
        if (this.#closed) break;
        this.#logger.warn(`cluster: the shard directory's watch ended (made again in a second): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 1000).unref());
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Who holds `shard`, as the directory last said; null: no one. */
  ownerOf(shard: number): ShardOwner | null {
    return this.#claims.get(shard)?.owner ?? null;
  }

  /** The shards this node holds. */
  owned(): number[] {
    const out: number[] = [];
    for (const [shard, claim] of this.#claims) if (claim.owner.id === this.#self.id) out.push(shard);
    return out.sort((a, b) => a - b);
  }

  /**
   * One pass of the rules over every shard (at start, on every change of the members, and at each
   * heartbeat): claim what this node is preferred for and no live member holds; hand over what it
   * holds and a live member is preferred for. None once the node leaves.
   */
  rebalance(): Promise<void> {
    // Leaving, the node is still a member until it has left: the rules would prefer it for what
    // it is handing over, and take it back.
    if (this.#suspended || this.#leaving) return Promise.resolve();
    this.#balancing ??= this.#pass().finally(() => (this.#balancing = null));
    return this.#balancing;
  }

  /**
   * The node's lease lapsed: every shard it holds is released here at once (not in the directory:
   * another node may have taken it already), and nothing is claimed or acquired until resume().
   */
  suspend(): void {
    if (this.#suspended) return;
    this.#suspended = true;
    for (const shard of this.owned()) this.#lost(shard);
    this.#releasing.clear(); // a hand-over under way finds it so, and leaves the shard to the next pass
  }

  /**
   * The lease holds again: the directory is read whole (the watch may have missed what happened
   * meanwhile), and the shards it says this node holds are acquired again; then the rules run.
   */
  async resume(): Promise<void> {
    if (!this.#suspended || this.#leaving) return;
    const read = new Map<number, { text: string; revision: number }>();
    let newest = 0;
    for await (const key of await this.#kv.keys('s.>')) {
      const entry = await this.#kv.get(key);
      if (entry === null) continue;
      newest = Math.max(newest, entry.revision);
      if (entry.operation === 'PUT') read.set(Number(key.slice(2)), { text: entry.string(), revision: entry.revision });
    }
    if (!this.#suspended || this.#closed || this.#leaving) return;
    // What the reading did not find is gone, unless it was written after (a revision only grows).
    for (const shard of [...this.#claims.keys()]) if (!read.has(shard)) this.#forget(`s.${shard}`, newest);
    for (const [shard, { text, revision }] of read) this.#record(`s.${shard}`, text, revision);
    // Each shard the directory still gives this node is written again, by compare-and-set on the
    // revision read: another node whose claim of it was on its way meanwhile cannot hold it too.
    const mine = this.owned();
    const value = JSON.stringify(this.#self);
    await Promise.all(
      mine.map(async (shard) => {
        const claim = this.#claims.get(shard);
        if (claim === undefined || claim.owner.id !== this.#self.id) return;
        try {
          this.#record(`s.${shard}`, value, await this.#kv.update(`s.${shard}`, value, claim.revision));
        } catch {
          // Taken meanwhile: its owner is not known here until the watch brings the write.
          if (this.#claims.get(shard) === claim) {
            this.#claims.delete(shard);
            this.emit('owner', shard);
          }
        }
      }),
    );
    if (!this.#suspended || this.#closed || this.#leaving) return;
    this.#suspended = false;
    // Every shard the directory gives this node now: those written again above, and any that another
    // node handed it while those writes were under way (the watch recorded it, suspended: not acquired then).
    for (const shard of this.owned()) this.emit('acquired', shard);
    await this.rebalance();
  }

  /** Hands every shard this node holds to the member preferred among the others (or frees it). */
  async leave(): Promise<void> {
    this.#leaving = true;
    if (this.#suspended) {
      // Its shards are let go here already, and it cannot know which the others took meanwhile:
      // they claim what is left once it has left the membership.
      this.close();
      return;
    }
    await this.#balancing;
    await Promise.all(this.#handing.values());
    // No pass of the rules runs now (rebalance): a hand-over that failed (a timeout) is tried
    // again here, a few times; what is still held after that is claimed by the others once this
    // node is out of the membership.
    for (let round = 0; round < LEAVE_ROUNDS && !this.#closed; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, LEAVE_RETRY_MS));
      const held = this.owned();
      if (held.length === 0) break;
      const others = this.#members().filter((m) => m.id !== this.#self.id);
      await Promise.all(held.map((shard) => this.#handOver(shard, preferred(shard, others))));
    }
    this.close();
  }

  close(): void {
    this.#closed = true;
    this.#watch?.stop();
  }

  async #pass(): Promise<void> {
    const members = this.#members();
    const live = new Set(members.map((m) => m.id));
    const writes: Promise<void>[] = [];
    for (let shard = 0; shard < this.count && !this.#closed; shard++) {
      const want = preferred(shard, members);
      const claim = this.#claims.get(shard);
      if (claim !== undefined && claim.owner.id === this.#self.id) {
        // Not waited for: a hand-over waits for what lives on the shard here to stop, and the
        // claims of this pass (a dead node's shards) should not wait for that.
        if (want !== null && want.id !== this.#self.id) void this.#handOver(shard, want);
        else if (this.#releasing.delete(shard)) this.emit('acquired', shard); // preferred again before the hand-over went through
      } else if (want?.id === this.#self.id && (claim === undefined || !live.has(claim.owner.id))) {
        writes.push(this.#claim(shard, claim));
      }
    }
    await Promise.all(writes);
  }

  /** Claims `shard`: free (`claim` undefined), or held by a node that is no longer a member. */
  async #claim(shard: number, claim: Claim | undefined): Promise<void> {
    const value = JSON.stringify(this.#self);
    try {
      const revision = claim === undefined ? await this.#kv.create(`s.${shard}`, value) : await this.#kv.update(`s.${shard}`, value, claim.revision);
      this.#record(`s.${shard}`, value, revision);
    } catch {
      // Another node wrote it first (compare-and-set): the watch brings what it wrote.
    }
  }

  /**
   * Gives `shard` to `to` (null: frees it), if this node still holds it at the revision it knows.
   * 'released' is said once, before the first try; a try that fails other than by losing the
   * compare-and-set (a timeout) is made again at the next pass.
   */
  #handOver(shard: number, to: ShardOwner | null): Promise<void> {
    const under = this.#handing.get(shard);
    if (under !== undefined) return under; // the next pass tries again if that one does not go through
    const handing = this.#handOverNow(shard, to).finally(() => this.#handing.delete(shard));
    this.#handing.set(shard, handing);
    return handing;
  }

  async #handOverNow(shard: number, to: ShardOwner | null): Promise<void> {
    const claim = this.#claims.get(shard);
    if (claim === undefined || claim.owner.id !== this.#self.id) return;
    if (!this.#releasing.has(shard)) {
      this.#releasing.add(shard);
      this.emit('released', shard); // what lives on the shard here ends before another may start it
    }
    try {
      await this.#drain(shard);
      // The directory moved on meanwhile, or this node is preferred again (it took the shard back:
      // 'acquired' was said), or the one it was to go to is gone: the next pass decides.
      if (this.#claims.get(shard) !== claim || !this.#releasing.has(shard)) return;
      if (to !== null && !this.#members().some((m) => m.id === to.id)) return;
      if (to === null) {
        await this.#kv.delete(`s.${shard}`, { previousSeq: claim.revision });
        this.#forget(`s.${shard}`);
      } else {
        const value = JSON.stringify({ id: to.id, name: to.name } satisfies ShardOwner);
        this.#record(`s.${shard}`, value, await this.#kv.update(`s.${shard}`, value, claim.revision));
      }
    } catch (error) {
      // Written by another first (it took this node for gone: the watch brings what it wrote), or
      // not written at all (the next pass tries again).
      this.#logger.warn(`cluster: shard ${shard} could not be handed over yet: ${(error as Error).message}`);
    }
  }

  /** Says a shard this node held is gone from it, unless its hand-over said so already. */
  #lost(shard: number): void {
    if (!this.#releasing.delete(shard)) this.emit('released', shard);
  }

  #record(key: string, text: string, revision: number): void {
    const shard = Number(key.slice(2));
    if (!Number.isInteger(shard) || shard < 0 || shard >= this.count) return;
    let owner: ShardOwner;
    try {
      const value = JSON.parse(text) as Partial<ShardOwner>;
      if (typeof value.id !== 'string' || typeof value.name !== 'string') return;
      owner = { id: value.id, name: value.name };
    } catch {
      return;
    }
    const before = this.#claims.get(shard);
    if (before !== undefined && before.revision > revision) return; // an older write, seen late
    this.#claims.set(shard, { owner, revision });
    const had = before?.owner.id === this.#self.id;
    const has = owner.id === this.#self.id;
    if (this.#suspended) {
      // Nothing is held while suspended (resume() acquires what the directory says then).
    } else if (has && !had) this.emit('acquired', shard);
    else if (had && !has) this.#lost(shard);
    if (before?.owner.id !== owner.id) this.emit('owner', shard);
  }

  /** `key` was deleted (at `revision`: a delete older than what was read since changes nothing). */
  #forget(key: string, revision = Infinity): void {
    const shard = Number(key.slice(2));
    const before = this.#claims.get(shard);
    if (before === undefined || before.revision > revision) return;
    this.#claims.delete(shard);
    if (before.owner.id === this.#self.id && !this.#suspended) this.#lost(shard);
    this.emit('owner', shard);
  }

}
