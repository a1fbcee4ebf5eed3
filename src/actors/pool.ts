// A pool of identical actors behind one handle. Routing happens on the caller's side, so a
// message costs no extra hop through a router actor: round-robin, or by key with rendezvous
// (highest-random-weight) hashing, which keeps each key on one member (so its messages stay in
// order) and moves only about 1/n of the keys when a member is added.

import { ActorStoppedError } from '../errors.js';
import { invalid, validateFunction, validateInteger, validateKeys, validateObject, validateString } from '../validate.js';
import { fnv1a, score } from './hash.js';
import { SPAWN_KEYS } from './policy.js';
import type { ActorRefImpl } from './actor-ref.js';
import type { ExitReason, AskOptions, MessageOptions, PoolOptions, Routing, SendOptions, SendResult, SpawnOptions } from './types.js';

/** What a pool needs of the host of its thread. */
export interface PoolHost {
  /** Registers the pool for what its members in ack mode hand back; returns [thread, id]. */
  readonly handover: { registerPool(pool: Pool): readonly [number, number]; unregisterPool(id: number): void };
  /** Calls `onEnd` once when `ref` stops for good; returns the function that cancels it. */
  readonly deathWatch: { watchWith(ref: ActorRefImpl, onEnd: (reason: ExitReason) => void): () => void };
  /** A message for a pool with no members: accepted, and a dead letter. */
  noRoutee(type: string, payload: unknown): void;
  stopRef(ref: ActorRefImpl): Promise<void>;
}

export class Pool {
  readonly #node: PoolHost;
  readonly #spawnMember: (routeeOf: readonly [number, number]) => ActorRefImpl;
  /** [this thread, this pool's id on it]: where members hand back what they leave unhandled. */
  readonly #id: readonly [number, number];
  readonly #key: ((type: string, payload: unknown) => string | number) | null;
  #members: ActorRefImpl[] = [];
  #seeds: number[] = [];
  #next = 0;

  constructor(node: PoolHost, spawnMember: (routeeOf: readonly [number, number]) => ActorRefImpl, size: number, routing: Routing) {
    this.#node = node;
    this.#spawnMember = spawnMember;
    this.#id = node.handover.registerPool(this);
    this.#key = routing === 'round-robin' ? null : routing.key;
    for (let i = 0; i < size; i++) this.grow();
  }

  get members(): readonly ActorRefImpl[] {
    return [...this.#members];
  }

  grow(): ActorRefImpl {
    const member = this.#spawnMember(this.#id);
    this.#members.push(member);
    this.#seeds.push(fnv1a(member.id));
    // A member that stops for good leaves the routing (a restart keeps its slot: no notice).
    this.#node.deathWatch.watchWith(member, () => this.remove(member));
    return member;
  }

  remove(member: ActorRefImpl): boolean {
    const i = this.#members.findIndex((m) => m.key === member.key && m.thread === member.thread);
    if (i < 0) return false;
    this.#members.splice(i, 1);
    this.#seeds.splice(i, 1);
    return true;
  }

  /** A member for this message, never the one with key `not` (a member that stopped holding it). */
  route(type: string, payload: unknown, not = 0): ActorRefImpl | null {
    return this.#route(type, payload, not);
  }

  #route(type: string, payload: unknown, not = 0): ActorRefImpl | null {
    const members = this.#members;
    if (members.length === 0 || (members.length === 1 && members[0]!.key === not)) return null;
    if (this.#key === null) {
      let member = members[this.#next++ % members.length]!;
      if (member.key === not) member = members[this.#next++ % members.length]!;
      return member;
    }
    const keyHash = fnv1a(String(this.#key(type, payload)));
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < members.length; i++) {
      if (members[i]!.key === not) continue;
      const s = score(keyHash, this.#seeds[i]!);
      if (s > bestScore) {
        bestScore = s;
        best = i;
      }
    }
    return members[best]!;
  }

  tell(type: string, payload?: unknown, options?: MessageOptions): void {
    const member = this.#route(type, payload);
    if (member === null) {
      this.#node.noRoutee(type, payload);
      return;
    }
    member.tell(type, payload, options);
  }

  async send(type: string, payload?: unknown, options?: SendOptions): Promise<SendResult> {
    const member = this.#route(type, payload);
    if (member === null) {
      this.#node.noRoutee(type, payload);
      return { duplicate: false };
    }
    return member.send(type, payload, options);
  }

  ask(type: string, payload?: unknown, options?: AskOptions): Promise<unknown> {
    const member = this.#route(type, payload);
    if (member === null) {
      this.#node.noRoutee(type, payload);
      return Promise.reject(new ActorStoppedError(`pool has no members to route ${JSON.stringify(type)} to`));
    }
    return member.ask(type, payload, options);
  }

  /** Called once the pool stops, and waited for before its members stop (a pool serving the cluster leaves its service first). */
  onStop: (() => Promise<void>) | null = null;

  async stop(): Promise<void> {
    const onStop = this.onStop;
    this.onStop = null;
    await onStop?.();
    const members = this.#members;
    this.#members = [];
    this.#seeds = [];
    await Promise.all(members.map((m) => this.#node.stopRef(m)));
    this.#node.handover.unregisterPool(this.#id[1]);
  }
}

export function resolvePoolOptions(options: PoolOptions): { size: number; routing: Routing; spawn: SpawnOptions; service: string | null } {
  validateObject(options, 'options');
  validateKeys(options, 'options', [...SPAWN_KEYS, 'size', 'routing', 'service']);
  const service = options.service === undefined ? null : validateString(options.service, 'options.service');
  const size = validateInteger(options.size, 'options.size', 0, 100_000);
  const routing = options.routing ?? 'round-robin';
  if (routing !== 'round-robin') {
    if (typeof routing !== 'object' || routing === null) throw invalid('options.routing', "'round-robin' or { key: (type, payload) => key }", routing);
    validateFunction(routing.key, 'options.routing.key');
  }
  const { size: _size, routing: _routing, service: _service, ...spawn } = options;
  return { size, routing, spawn, service };
}
