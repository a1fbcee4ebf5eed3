// Registered names, as Erlang's register/whereis and Akka's receptionist: one table per system,
// kept on the main thread. A name is taken while its actor lives: once the actor has begun to
// stop (the liveness table says so, from any thread) the name is free again, with no message
// needed. A worker looks a name up by asking the main thread.

import { invalid, validateString } from '../../validate.js';
import { checkRef, type ActorRefImpl } from '../actor-ref.js';
import type { NodeCore } from './node-core.js';
import { seqOf, spawnerOf } from './wire.js';

export class Names {
  readonly #node: NodeCore;
  /** The main thread's table (empty elsewhere). */
  readonly #table = new Map<string, ActorRefImpl>();

  constructor(node: NodeCore) {
    this.#node = node;
  }

  /** Main thread: gives `ref` the name; a name whose actor lives is refused. */
  register(name: string, ref: ActorRefImpl): void {
    validateString(name, 'register(name)');
    if (name === '') throw invalid('register(name)', 'a non-empty name', name);
    checkRef(ref, 'register(ref)');
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
    if (node.self === 0) return Promise.resolve(this.#find(name));
    const { corr, promise } = node.asks.open<ActorRefImpl | null>(node.askTimeoutMs, () => `lookup of ${JSON.stringify(name)}`, 0);
    node.control(0, ['lookup', name, corr]);
    return promise.then((ref) => ref ?? undefined);
  }

  /** Main thread: a worker's lookup, answered to its asker. */
  answer(from: number, name: string, corr: number): void {
    this.#node.records.reply(from, 0, corr, this.#find(name) ?? null);
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
