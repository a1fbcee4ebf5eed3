// The spawner's side of thread replacement. A thread keeps the spawn record of every actor it
// placed on another thread; when that thread dies, each such actor is an orphan until its
// supervisor decides (a supervising parent here, or the actor's own restart limits, counted
// here): it starts again on the replacement with the same key, behind the same ref, or it is
// declared gone. The ids its dedup table took are kept here too, so a restart still knows them.

import { ActorFailedError } from '../../errors.js';
import { DEFAULT_POLICY } from '../policy.js';
import type { SupervisorHost } from '../supervision/supervisor.js';
import type { RestartType } from '../types.js';
import type { Replica, SpawnRecord } from '../node/wire.js';
import type { NodeCore } from '../node/node-core.js';
import type { Handover } from './handover.js';

interface RemoteSpawn {
  readonly thread: number;
  readonly record: SpawnRecord;
  /** Copies of the ack-mode tells its host holds and has not finished with, by number: [number, ...Replica]. */
  replicas: Map<number, readonly [number, ...Replica]> | null;
  /** Restarts after thread deaths, for an actor that restarts itself (no supervising parent). */
  restarts: number[] | null;
  /** The message ids its dedup table took (id -> when). */
  seen: Map<string, number> | null;
}

/** What the spawner's side needs of its host beyond the shared core. */
export interface SpawnerHost extends NodeCore, SupervisorHost {
  readonly handover: Handover;
}

export class RemoteSpawns {
  readonly #host: SpawnerHost;
  readonly #spawned = new Map<number, RemoteSpawn>();
  /** Actors on a thread that died whose restart is not decided yet. */
  readonly #orphans = new Set<number>();

  constructor(host: SpawnerHost) {
    this.#host = host;
  }

  add(key: number, thread: number, record: SpawnRecord): void {
    this.#spawned.set(key, { thread, record, restarts: null, seen: null, replicas: null });
  }

  /** The actor stopped for good: nothing more to keep. */
  stopped(key: number, thread: number): void {
    if (this.#spawned.get(key)?.thread !== thread) return;
    this.#spawned.delete(key);
    this.#orphans.delete(key);
  }

  /** Its host took a message id into its dedup table; bounded and expired as that table is. */
  seen(key: number, id: string, at: number): void {
    const spawned = this.#spawned.get(key);
    if (spawned === undefined) return;
    const table = (spawned.seen ??= new Map());
    table.delete(id);
    table.set(id, at);
    const delivery = spawned.record[5]?.delivery;
    if (delivery == null) return;
    for (const [oldId, oldAt] of table) {
      if (table.size <= delivery.dedupMax && at - oldAt < delivery.dedupWindowMs) break;
      table.delete(oldId);
    }
  }

  /** Its host copied tells it now holds, and finished with others (`done`: [from, to] ranges of numbers). */
  replicas(key: number, held: readonly (readonly [number, ...Replica])[], done: readonly number[]): void {
    const spawned = this.#spawned.get(key);
    if (spawned === undefined) return;
    const table = (spawned.replicas ??= new Map());
    for (const entry of held) table.set(entry[0], entry);
    for (let i = 0; i < done.length; i += 2) for (let seq = done[i]!; seq <= done[i + 1]!; seq++) table.delete(seq);
  }

  /** Its host stopped it and settled everything it held. */
  replicasDone(key: number): void {
    const spawned = this.#spawned.get(key);
    if (spawned !== undefined) spawned.replicas = null;
  }

  /** Copies held here of what actors on `thread` held. */
  replicaCount(thread: number): number {
    let n = 0;
    for (const spawned of this.#spawned.values()) if (spawned.thread === thread) n += spawned.replicas?.size ?? 0;
    return n;
  }

  /** Hands an actor's copies on (to itself restarted, or elsewhere) and forgets them. */
  #resend(key: number, spawned: RemoteSpawn, restarted: boolean): void {
    const table = spawned.replicas;
    spawned.replicas = null;
    if (table === null || table.size === 0) return;
    const ordered = [...table.values()].sort((a, b) => a[0] - b[0]).map(([, ...r]) => r as Replica);
    this.#host.handover.resend(spawned.thread, key, ordered, restarted, spawned.record[5]?.routeeOf ?? null);
  }

  isOrphan(key: number): boolean {
    return this.#orphans.has(key);
  }

  /** An orphan's restart type (what a sibling's 'halt' directive answers for it). */
  restartTypeOf(key: number): RestartType {
    return (this.#spawned.get(key)!.record[5] ?? DEFAULT_POLICY).restart;
  }

  /**
   * `thread` died and is being replaced: every actor spawned from here onto it is an orphan.
   * Returns their keys; the decisions follow in a microtask (a supervisor may take its time: the
   * replacement holds their messages meanwhile).
   */
  orphan(thread: number, cause: Error): number[] {
    const keys: number[] = [];
    for (const [key, spawned] of this.#spawned) {
      if (spawned.thread !== thread) continue;
      keys.push(key);
      this.#orphans.add(key);
    }
    queueMicrotask(() => {
      for (const key of keys) this.#failed(key, cause);
    });
    return keys;
  }

  /** `thread` died for good: its actors are gone. */
  forgetThread(thread: number): void {
    for (const [key, spawned] of [...this.#spawned]) {
      if (spawned.thread !== thread) continue;
      this.#resend(key, spawned, false);
      this.#forget(key);
    }
  }

  /** Starts an orphan again on its thread's replacement: same key, same ref, same spawn record. */
  respawn(key: number): void {
    const spawned = this.#spawned.get(key)!;
    this.#orphans.delete(key);
    const [moduleUrl, name, args, parentThread, parentKey, policy] = spawned.record;
    const record: SpawnRecord = spawned.seen === null ? spawned.record : [moduleUrl, name, args, parentThread, parentKey, policy, [...spawned.seen]];
    this.#host.records.spawn(spawned.thread, key, record[4], record);
    this.#resend(key, spawned, true);
  }

  /** An orphan that is not restarted: the replacement dead-letters what it holds for it. */
  gone(key: number): void {
    const spawned = this.#spawned.get(key)!;
    this.#host.control(spawned.thread, ['gone', key]);
    this.#resend(key, spawned, false);
    this.#forget(key);
  }

  /**
   * An orphan's failure: its supervising parent decides, as for any failure (the node routes the
   * resulting directive or stop here); without one, its own restart limits do.
   */
  #failed(key: number, cause: Error): void {
    const spawned = this.#spawned.get(key);
    if (spawned === undefined || !this.#orphans.has(key)) return;
    const host = this.#host;
    const parentKey = spawned.record[4];
    const policy = spawned.record[5] ?? DEFAULT_POLICY;
    const parent = parentKey === 0 ? null : (host.cells.get(parentKey) ?? null);
    const ref = host.refFor(spawned.thread, key);
    if (parentKey !== 0 && (parent === null || parent.ending)) {
      this.gone(key);
      return;
    }
    if (parent !== null && parent.supervisor !== null) {
      const error = new ActorFailedError(`actor ${ref.id} died with its thread: ${cause.message}`, { cause });
      parent.supervisor.childFailed(host, parent, ref, error, policy.restart, false);
      return;
    }
    const now = host.now();
    const restarts = (spawned.restarts ??= []);
    while (restarts.length > 0 && now - restarts[0]! > policy.windowMs) restarts.shift();
    if (restarts.length >= policy.maxRestarts) {
      this.gone(key);
      return;
    }
    restarts.push(now);
    const backoff = policy.backoff;
    if (backoff === null) {
      this.respawn(key);
      return;
    }
    // Its backoff applies as to any restart: the replacement holds its messages meanwhile.
    const base = Math.min(backoff.maxMs, backoff.minMs * 2 ** (restarts.length - 1));
    host.clock.setTimeout(() => {
      if (this.#orphans.has(key)) this.respawn(key);
    }, base + Math.random() * backoff.jitter * base);
  }

  #forget(key: number): void {
    const spawned = this.#spawned.get(key)!;
    this.#orphans.delete(key);
    this.#spawned.delete(key);
    const parentKey = spawned.record[4];
    if (parentKey !== 0) this.#host.cells.get(parentKey)?.children?.delete(key);
    const entry = this.#host.bounds.entryOf(key);
    if (entry >= 0) this.#host.bounds.free(entry);
  }
}
