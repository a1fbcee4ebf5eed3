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
import { SpawnTable } from './spawn-table.js';

/** An actor that needed more than its spawn record kept here. */
interface RemoteSpawn {
  readonly record: SpawnRecord;
  /** Copies of the ack-mode tells its host holds and has not finished with, by number: [number, ...Replica]. */
  replicas: Map<number, readonly [number, ...Replica]> | null;
  /** Restarts after thread deaths, for an actor that restarts itself (no supervising parent). */
  restarts: number[] | null;
  /** The message ids its dedup table took (id -> when). */
  seen: Map<string, number> | null;
}

/** Nearly every actor is its spawn record alone (often one shared with its siblings). */
type Entry = SpawnRecord | RemoteSpawn;

const recordOf = (entry: Entry): SpawnRecord => (Array.isArray(entry) ? entry : entry.record);

/** What the spawner's side needs of its host beyond the shared core. */
export interface SpawnerHost extends NodeCore, SupervisorHost {
  readonly handover: Handover;
}

export class RemoteSpawns {
  readonly #host: SpawnerHost;
  /** By host thread, by key, in spawn order. */
  readonly #spawned: SpawnTable<Entry>[] = [];
  /** Actors on a thread that died whose restart is not decided yet: key -> thread. */
  readonly #orphans = new Map<number, number>();
  /** The last record made: the next spawn of the same kind shares it (a loop of spawns keeps one). */
  #last: SpawnRecord | null = null;

  constructor(host: SpawnerHost) {
    this.#host = host;
    for (let t = 0; t < host.threadCount; t++) this.#spawned.push(new SpawnTable());
  }

  /** The spawn record for these fields: the previous one if it is the same. */
  record(moduleUrl: string, name: string, args: unknown, parentThread: number, parentKey: number, policy: SpawnRecord[5]): SpawnRecord {
    const last = this.#last;
    if (last !== null && last[2] === args && last[4] === parentKey && last[5] === policy && last[1] === name && last[0] === moduleUrl && last[3] === parentThread) return last;
    return (this.#last = [moduleUrl, name, args, parentThread, parentKey, policy]);
  }

  add(key: number, thread: number, record: SpawnRecord): void {
    this.#spawned[thread]!.add(key, record);
  }

  /** The keys of the top-level actors (no parent) placed on `thread`, oldest first. */
  topLevel(thread: number): number[] {
    const keys: number[] = [];
    for (const [key, entry] of this.#spawned[thread]!) if (recordOf(entry)[4] === 0) keys.push(key);
    return keys;
  }

  /** The actor stopped for good: nothing more to keep (looked for on every thread if it moved). */
  stopped(key: number, thread: number): void {
    if (!this.#spawned[thread]!.delete(key)) {
      const at = this.#threadOf(key);
      if (at < 0 || !this.#spawned[at]!.delete(key)) return;
    }
    this.#orphans.delete(key);
  }

  /**
   * An actor spawned here lives on `to` now (node/moves.ts): kept under that thread, to restart
   * there if it dies; `record` makes an entry for one that lived here until now.
   */
  moved(key: number, to: number, record: SpawnRecord | null): void {
    const at = this.#threadOf(key);
    if (at === to) return;
    if (at < 0) {
      if (record !== null) this.#spawned[to]!.add(key, record);
      return;
    }
    const entry = this.#spawned[at]!.get(key)!;
    this.#spawned[at]!.delete(key);
    this.#spawned[to]!.add(key, entry);
  }

  /** An actor spawned here came back to this thread: what is kept for actors elsewhere is not for it. */
  returned(key: number): void {
    const at = this.#threadOf(key);
    if (at >= 0) this.#spawned[at]!.delete(key);
  }

  #threadOf(key: number): number {
    for (let t = 0; t < this.#spawned.length; t++) if (this.#spawned[t]!.get(key) !== undefined) return t;
    return -1;
  }

  /** Its full entry, made from its record on first need. */
  #more(thread: number, key: number): RemoteSpawn | undefined {
    const map = this.#spawned[thread]!;
    const entry = map.get(key);
    if (entry === undefined || !Array.isArray(entry)) return entry;
    const full: RemoteSpawn = { record: entry, replicas: null, restarts: null, seen: null };
    map.set(key, full);
    return full;
  }

  #entry(key: number): { thread: number; record: SpawnRecord; full: RemoteSpawn | null } | undefined {
    for (let thread = 0; thread < this.#spawned.length; thread++) {
      const entry = this.#spawned[thread]!.get(key);
      if (entry !== undefined) return { thread, record: recordOf(entry), full: Array.isArray(entry) ? null : entry };
    }
    return undefined;
  }

  /** Its host (`thread`) took a message id into its dedup table; bounded and expired as that table is. */
  seen(thread: number, key: number, id: string, at: number): void {
    // Under another thread if it moved there and the notice of its move is still on its way.
    let spawned = this.#more(thread, key);
    if (spawned === undefined) {
      const where = this.#threadOf(key);
      if (where >= 0) spawned = this.#more(where, key);
    }
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

  /** Its host (`thread`) copied tells it now holds, and finished with others (`done`: [from, to] ranges of numbers). */
  replicas(thread: number, key: number, held: readonly (readonly [number, ...Replica])[], done: readonly number[]): void {
    const spawned = this.#more(thread, key);
    if (spawned === undefined) return;
    const table = (spawned.replicas ??= new Map());
    for (const entry of held) table.set(entry[0], entry);
    for (let i = 0; i < done.length; i += 2) for (let seq = done[i]!; seq <= done[i + 1]!; seq++) table.delete(seq);
  }

  /** Its host stopped it and settled everything it held. */
  replicasDone(thread: number, key: number): void {
    const entry = this.#spawned[thread]!.get(key);
    if (entry !== undefined && !Array.isArray(entry)) entry.replicas = null;
  }

  /** Copies held here of what actors on `thread` held. */
  replicaCount(thread: number): number {
    let n = 0;
    for (const [, entry] of this.#spawned[thread]!) if (!Array.isArray(entry)) n += entry.replicas?.size ?? 0;
    return n;
  }

  /** Hands an actor's copies on (to itself restarted, or elsewhere) and forgets them. */
  #resend(thread: number, key: number, restarted: boolean): void {
    const entry = this.#spawned[thread]!.get(key);
    if (entry === undefined || Array.isArray(entry)) return;
    const table = entry.replicas;
    entry.replicas = null;
    if (table === null || table.size === 0) return;
    const ordered = [...table.values()].sort((a, b) => a[0] - b[0]).map(([, ...r]) => r as Replica);
    this.#host.handover.resend(thread, key, ordered, restarted, entry.record[5]?.routeeOf ?? null);
  }

  isOrphan(key: number): boolean {
    return this.#orphans.has(key);
  }

  /** An orphan's restart type (what a sibling's 'halt' directive answers for it). */
  restartTypeOf(key: number): RestartType {
    return (this.#entry(key)!.record[5] ?? DEFAULT_POLICY).restart;
  }

  /**
   * `thread` died and is being replaced: every actor spawned from here onto it is an orphan.
   * Returns their keys; the decisions follow in a microtask (a supervisor may take its time: the
   * replacement holds their messages meanwhile).
   */
  orphan(thread: number, cause: Error): number[] {
    const keys = this.#spawned[thread]!.keys();
    for (const key of keys) this.#orphans.set(key, thread);
    queueMicrotask(() => {
      for (const key of keys) this.#failed(key, cause);
    });
    return keys;
  }

  /** `thread` died for good: its actors are gone. */
  forgetThread(thread: number): void {
    for (const key of this.#spawned[thread]!.keys()) {
      this.#resend(thread, key, false);
      this.#forget(thread, key);
    }
  }

  /** Starts an orphan again on its thread's replacement: same key, same ref, same spawn record. */
  respawn(key: number): void {
    const { thread, record: spawnRecord, full } = this.#entry(key)!;
    this.#orphans.delete(key);
    const [moduleUrl, name, args, parentThread, parentKey, policy] = spawnRecord;
    const seen = full?.seen ?? null;
    const record: SpawnRecord = seen === null ? spawnRecord : [moduleUrl, name, args, parentThread, parentKey, policy, [...seen]];
    this.#host.records.spawn(thread, key, record[4], record);
    this.#resend(thread, key, true);
  }

  /** An orphan that is not restarted: the replacement dead-letters what it holds for it. */
  gone(key: number): void {
    const thread = this.#entry(key)!.thread;
    this.#host.control(thread, ['gone', key]);
    this.#resend(thread, key, false);
    this.#forget(thread, key);
  }

  /**
   * An orphan's failure: its supervising parent decides, as for any failure (the node routes the
   * resulting directive or stop here); without one, its own restart limits do.
   */
  #failed(key: number, cause: Error): void {
    const thread = this.#orphans.get(key);
    if (thread === undefined) return;
    const spawned = this.#more(thread, key);
    if (spawned === undefined) return;
    const host = this.#host;
    const parentKey = spawned.record[4];
    const policy = spawned.record[5] ?? DEFAULT_POLICY;
    const parent = parentKey === 0 ? null : (host.cells.get(parentKey) ?? null);
    const ref = host.refFor(thread, key);
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

  #forget(thread: number, key: number): void {
    const map = this.#spawned[thread]!;
    const parentKey = recordOf(map.get(key)!)[4];
    this.#orphans.delete(key);
    map.delete(key);
    if (parentKey !== 0) this.#host.cells.get(parentKey)?.children?.delete(key);
    const entry = this.#host.bounds.entryOf(key);
    if (entry >= 0) this.#host.bounds.free(entry);
  }
}
