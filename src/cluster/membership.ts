// Who is in the cluster: each node writes `node.<name>` into a KV bucket whose TTL is
// downAfterMs, and writes it again every heartbeatMs. A node that leaves on purpose deletes its
// key, which every watcher sees at once; a node that dies stops writing, and its key expires.
// NATS 2.9 sends no event for an expired key, so each node also lists the bucket at every
// heartbeat: a dead node is down for everyone within downAfterMs + heartbeatMs of its last write.
// A node that restarts under the same name is a new member (a new system id): the old one leaves.

import { EventEmitter } from 'node:events';
import type { Logger } from '../actors/logger.js';
import { JOIN_RETRY_MS, type KV } from './nats.js';

/** What a node says of itself in the bucket. */
export interface MemberRecord {
  /** Its system id: one per process start. */
  readonly id: string;
  readonly name: string;
  /** Its worker threads. */
  readonly threads: number;
  /** The cluster wire protocol it speaks (wire-batch.ts): a node speaking another is refused. */
  readonly protocol: number;
  /** Its live actors at its last heartbeat (what placement 'cluster' weighs). */
  readonly actors?: number;
}

export interface ClusterMember {
  readonly name: string;
  readonly id: string;
  readonly threads: number;
  /** Its live actors at its last heartbeat (this node's too). */
  readonly actors: number;
  /** This process. */
  readonly self: boolean;
}

export type LeaveReason = 'left' | 'down' | 'restarted';

export interface MembershipEvents {
  join: [member: ClusterMember];
  leave: [member: ClusterMember, reason: LeaveReason];
}

export class Membership extends EventEmitter<MembershipEvents> {
  readonly #kv: KV;
  readonly #self: MemberRecord;
  /** This node's live actors now (written into its record at each heartbeat). */
  readonly #load: () => number;
  readonly #heartbeatMs: number;
  readonly #logger: Logger;
  readonly #members = new Map<string, ClusterMember>();
  /** Ids of nodes refused (another protocol), reported once each. */
  readonly #refused = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #watch: { stop(): void } | null = null;
  #closed = false;
  /** A heartbeat under way: the next tick skips rather than pile up. */
  #busy = false;
  /** A listing of the members under way (it may take longer than a heartbeat: it does not hold them back). */
  #listing = false;
  #listFailures = 0;
  /** Heartbeats failed in a row (NATS failing over): the first and the recovery are reported. */
  #failures = 0;
  /** When the watch last brought each member's key: a listing begun before that cannot say it is gone. */
  readonly #heardAt = new Map<string, number>();
  /** Told of each heartbeat that went through, with when it was sent (the node's lease runs from then). */
  onBeat: ((sentAt: number) => void) | null = null;

  constructor(kv: KV, self: MemberRecord, heartbeatMs: number, logger: Logger, load: () => number) {
    super();
    this.#kv = kv;
    this.#self = self;
    this.#load = load;
    this.#heartbeatMs = heartbeatMs;
    this.#logger = logger;
    this.#members.set(self.name, { name: self.name, id: self.id, threads: self.threads, actors: 0, self: true });
  }

  /** Joins: writes this node's key, reads who is there, and keeps both up to date. */
  async start(): Promise<void> {
    // A bucket just made on a NATS cluster takes writes once its copies have elected a leader.
    const deadline = Date.now() + JOIN_RETRY_MS;
    for (;;) {
      try {
        await this.#put();
        await this.#reconcile();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    this.#timer = setInterval(() => void this.#tick(), this.#heartbeatMs);
    this.#timer.unref();
    // The watch only hears of joins and leaves sooner than the next listing: it is made (and
    // made again, should it end) beside the heartbeats, which alone would do.
    void this.#keepWatching();
  }

  async #keepWatching(): Promise<void> {
    while (!this.#closed) {
      try {
        const watch = await this.#kv.watch({ key: 'node.>' });
        this.#watch = watch;
        if (this.#closed) watch.stop();
        for await (const entry of watch) {
          if (this.#closed) break;
          const name = entry.key.slice('node.'.length);
          if (entry.operation === 'PUT') {
            this.#heardAt.set(name, Date.now());
            this.#seen(name, parse(entry.string()));
          }
          else this.#gone(name, 'left');
        }
      } catch {
        // NATS failing over: the heartbeats report it; the watch is made again below.
      }
      if (!this.#closed) await new Promise((resolve) => setTimeout(resolve, this.#heartbeatMs));
    }
  }

  members(): ClusterMember[] {
    return [...this.#members.values()];
  }

  /** The live member with system id `id`, if any. */
  byId(id: string): ClusterMember | undefined {
    for (const member of this.#members.values()) if (member.id === id) return member;
    return undefined;
  }

  byName(name: string): ClusterMember | undefined {
    return this.#members.get(name);
  }

  /** Leaves on purpose: the key is deleted, so the others see it at once. */
  async leave(): Promise<void> {
    this.#stop();
    try {
      await this.#kv.delete(`node.${this.#self.name}`);
    } catch (error) {
      this.#logger.warn(`cluster: could not delete this node's membership key: ${(error as Error).message}`);
    }
  }

  /** The connection is gone: stops, and forgets every other member (returned). */
  lost(): ClusterMember[] {
    this.#stop();
    const others = [...this.#members.values()].filter((m) => !m.self);
    for (const member of others) this.#members.delete(member.name);
    return others;
  }

  /** Stops without leaving (the key expires): what a node does when its connection is gone. */
  #stop(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#watch?.stop();
  }

  async #tick(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      await this.#put();
      if (this.#failures > 0) this.#logger.warn(`cluster: heartbeats go through again, after ${this.#failures} failed`);
      this.#failures = 0;
    } catch (error) {
      if (!this.#closed && this.#failures++ === 0) this.#logger.warn(`cluster: heartbeat failed (reported once until one goes through): ${(error as Error).message}`);
    } finally {
      this.#busy = false;
    }
    // The listing apart: a slow one (a loaded server) delays what this node learns of the others,
    // never its own heartbeats, which the others (and its lease) depend on.
    if (this.#listing || this.#closed) return;
    this.#listing = true;
    try {
      await this.#reconcile();
      if (this.#listFailures > 0) this.#logger.warn(`cluster: the members are listed again, after ${this.#listFailures} failed listings`);
      this.#listFailures = 0;
    } catch (error) {
      if (!this.#closed && this.#listFailures++ === 0) this.#logger.warn(`cluster: the members could not be listed (reported once until a listing goes through): ${(error as Error).message}`);
    } finally {
      this.#listing = false;
    }
  }

  async #put(): Promise<void> {
    // This node's count as written, as every other node reads it: all members' loads are of a heartbeat.
    const actors = this.#load();
    const sentAt = Date.now();
    await this.#kv.put(`node.${this.#self.name}`, JSON.stringify({ ...this.#self, actors } satisfies MemberRecord));
    // Its key expires downAfterMs after the server stored it, which was after it was sent.
    if (!this.#closed) this.onBeat?.(sentAt);
    const me = this.#members.get(this.#self.name);
    if (me !== undefined && me.actors !== actors) this.#members.set(this.#self.name, { ...me, actors });
  }

  /** Lists the bucket: who is there now (what a watch misses: expired keys). */
  async #reconcile(): Promise<void> {
    const started = Date.now();
    const present = new Map<string, MemberRecord | null>();
    // Bounded (a listing can stall for good after a pause): the next tick lists again.
    const keys = await this.#kv.keys('node.>');
    for await (const key of keys) {
      const entry = await this.#kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      present.set(key.slice('node.'.length), parse(entry.string()));
    }
    if (this.#closed) return;
    for (const [name, record] of present) this.#seen(name, record);
    for (const member of [...this.#members.values()]) {
      // A member the watch heard from since this listing began wrote its key after the listing read the bucket.
      if (member.self || present.has(member.name) || (this.#heardAt.get(member.name) ?? 0) >= started) continue;
      this.#gone(member.name, 'down');
    }
  }

  #seen(name: string, record: MemberRecord | null): void {
    if (name === this.#self.name) {
      if (record !== null && record.id !== this.#self.id) this.#logger.error(`cluster: another node took this node's name ${JSON.stringify(name)} (system ${record.id})`);
      return;
    }
    if (record === null || record.name !== name) return; // not a record this protocol can read
    if (record.protocol !== this.#self.protocol) {
      // The name's member started again speaking another protocol: the one known is gone.
      if (this.#members.get(name)?.id !== record.id) this.#gone(name, 'restarted');
      if (!this.#refused.has(record.id)) {
        this.#refused.add(record.id);
        this.#logger.error(`cluster: node ${JSON.stringify(name)} speaks cluster protocol ${record.protocol}, this node ${this.#self.protocol}: refused`);
      }
      return;
    }
    const known = this.#members.get(name);
    const actors = typeof record.actors === 'number' ? record.actors : 0;
    if (known !== undefined && known.id === record.id) {
      if (known.actors !== actors) this.#members.set(name, { ...known, actors }); // its load, as of its last heartbeat
      return;
    }
    if (known !== undefined) this.#gone(name, 'restarted');
    const member: ClusterMember = { name, id: record.id, threads: record.threads, actors, self: false };
    this.#members.set(name, member);
    this.emit('join', member);
  }

  #gone(name: string, reason: LeaveReason): void {
    const member = this.#members.get(name);
    if (member === undefined || member.self) return;
    this.#members.delete(name);
    this.emit('leave', member, reason);
  }
}

function parse(text: string): MemberRecord | null {
  try {
    const value = JSON.parse(text) as Partial<MemberRecord>;
    if (typeof value.id !== 'string' || typeof value.name !== 'string' || typeof value.threads !== 'number' || typeof value.protocol !== 'number') return null;
    return value as MemberRecord;
  } catch {
    return null;
  }
}
