// Registered names, as Erlang's register/whereis and Akka's receptionist: one table per system,
// kept on the main thread. A name is taken while its actor lives: once the actor has begun to
// stop (the liveness table says so, from any thread) the name is free again, with no message
// needed. A worker looks a name up by asking the main thread. In a cluster, a name not held here
// is looked up on the other nodes (`elsewhere`, set by the cluster gateway).

import { invalid, validateString } from '../../validate.js';
import { checkRef, type ActorRefImpl } from '../actor-ref.js';
import { isRemoteRef } from '../remote-ref.js';
import type { NodeCore } from './node-core.js';
import { seqOf, spawnerOf } from './wire.js';

export class Names {
  readonly #node: NodeCore;
  /** The main thread's table (empty elsewhere). */
  readonly #table = new Map<string, ActorRefImpl>();
  /** Main thread, in a cluster: finds a name on the other nodes. */
  elsewhere: ((name: string) => Promise<ActorRefImpl | undefined>) | null = null;

  constructor(node: NodeCore) {
    this.#node = node;
  }

  /** Main thread: gives `ref` the name; a name whose actor lives is refused. */
  register(name: string, ref: ActorRefImpl): void {
    validateString(name, 'register(name)');
    if (name === '') throw invalid('register(name)', 'a non-empty name', name);
    checkRef(ref, 'register(ref)');
    if (isRemoteRef(ref)) throw invalid('register(ref)', 'an actor of this node (each node registers its own)', ref.id);
    if (this.#alive(ref) === false) throw invalid('register(ref)', 'a live actor', ref.id);
    const held = this.#find(name);
    if (held !== undefined && held.key !== ref.key) throw invalid('register(name)', `a free name (${JSON.stringify(name)} is the name of ${held.describe()})`, name);
    this.#table.set(name, ref);
  }

  /** Any thread: the live actor of that name, if any (from a worker, the main thread answers). */
  lookup(name: string): Promise<ActorRefImpl | undefined> {
    const node = this.#node;
    try {
      validateString(name, 'lookup(name)');
    } catch (error) {
      return Promise.reject(error);
    }
    if (node.self === 0) {
      const found = this.#find(name);
      return found !== undefined || this.elsewhere === null ? Promise.resolve(found) : this.elsewhere(name);
    }
    const { corr, promise } = node.asks.open<ActorRefImpl | null>(node.askTimeoutMs, () => `lookup of ${JSON.stringify(name)}`, 0);
    node.control(0, ['lookup', name, corr]);
    return promise.then((ref) => ref ?? undefined);
  }

  /** Main thread: a worker's lookup, answered to its asker. */
  answer(from: number, name: string, corr: number): void {
    const found = this.#find(name);
    if (found !== undefined || this.elsewhere === null) {
      this.#node.records.reply(from, 0, corr, found ?? null);
      return;
    }
    this.elsewhere(name).then(
      (ref) => this.#node.records.reply(from, 0, corr, ref ?? null),
      () => this.#node.records.reply(from, 0, corr, null),
    );
  }

  /** Main thread: the live actor of that name on this node only (what another node asks). */
  here(name: string): ActorRefImpl | undefined {
    return this.#find(name);
  }

  #find(name: string): ActorRefImpl | undefined {
    const ref = this.#table.get(name);
    if (ref === undefined) return undefined;
    if (this.#alive(ref)) return ref;
    this.#table.delete(name); // its actor stopped: the name is free
    return undefined;
  }

  #alive(ref: ActorRefImpl): boolean {
    const node = this.#node;
    return !node.isDead(ref.thread) && !node.liveness.isGone(spawnerOf(ref.key), seqOf(ref.key));
  }
}
