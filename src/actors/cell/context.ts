// What a handler gets as `ctx`: its actor's state, refs, spawn and stop, timers, watches and
// links, topics, offload, and the acknowledgement calls of ack mode. A thin face over the cell
// and its host; created on an actor's first message, not at spawn.

import { invalid, validateNumber, validateString } from '../../validate.js';
import { serviceHandle } from '../node/cross-node.js';
import { deferAck, settleAttempt } from './ack-mode.js';
import { checkRef, type ActorRefImpl } from '../actor-ref.js';
import type { Cell } from './cell.js';
import { Pool, resolvePoolOptions } from '../pool.js';
import type { ActorTimers } from './timers.js';
import { activeTrace } from '../trace.js';
import type { AnyEntityDefinition, ReminderOptions } from '../types.js';
import { isEntity, type EntityActivation } from '../entity/define-entity.js';
import type { AckHandle, ActorContext, AnyDefinition, MessageOptions, PoolOptions, SpawnOptions } from '../types.js';

export class Context implements ActorContext<unknown> {
  readonly #cell: Cell;

  /** Its host is the cell's (cell.node): one field less per actor. */
  constructor(cell: Cell) {
    this.#cell = cell;
  }

  /** Kept in the cell, so that an actor that never handles a message needs no Context. */
  get state(): unknown {
    return this.#cell.state;
  }
  set state(value: unknown) {
    this.#cell.state = value;
  }
  get self(): never {
    return this.#cell.self as never;
  }
  get sender(): never {
    return this.#cell.sender as never;
  }
  get id(): string {
    return this.#cell.node.idOf(this.#cell.key);
  }
  /** The actor's spawn arguments (not in ActorContext: an entity's handlers commit through them). */
  get args(): unknown {
    return this.#cell.args;
  }
  entity(definition: AnyEntityDefinition, key: string): never {
    return this.#cell.node.entities.ref(definition, key, 'ctx.entity') as never;
  }
  remind(name: string, when: ReminderOptions): void {
    this.#activation('ctx.remind').remind(name, when);
  }
  cancelReminder(name: string): void {
    this.#activation('ctx.cancelReminder').cancelReminder(name);
  }
  deleteEntity(): void {
    this.#activation('ctx.deleteEntity').delete();
  }
  /** The entity activation this context's actor is (its spawn arguments); for any other actor, InvalidArgumentError. */
  #activation(call: string): EntityActivation {
    const args = this.#cell.args as Partial<EntityActivation> | undefined;
    if (typeof args?.remind !== 'function' || !isEntity(this.#cell.definition)) throw invalid(call, "a call from an entity's handler (defineEntity)", this.#cell.definition?.name);
    return args as EntityActivation;
  }
  get signal(): AbortSignal {
    return this.#cell.signal;
  }
  spawn(definition: AnyDefinition, args?: unknown, options?: SpawnOptions): never {
    return this.#cell.node.spawn(definition, args, options, this.#cell) as never;
  }
  startChild(definition: AnyDefinition, args?: unknown, options?: SpawnOptions): Promise<never> {
    return this.#cell.node.start(definition, args, options, this.#cell) as Promise<never>;
  }
  lookup(name: string): Promise<never> {
    return this.#cell.node.names.lookup(name) as Promise<never>;
  }
  spawnPool(definition: AnyDefinition, args: unknown, options: PoolOptions): never {
    const { size, routing, spawn, service } = resolvePoolOptions(options);
    if (service !== null) throw invalid('options.service', "system.spawnPool (a pool that serves the cluster is top-level: its members are not a handler's children)", service);
    return new Pool(this.#cell.node, (routeeOf) => this.#cell.node.spawn(definition, args, spawn, this.#cell, routeeOf), size, routing) as never;
  }
  /** In a cluster: the pools serving the cluster as `name`, wherever they are (system.service). */
  service(name: string): never {
    validateString(name, 'ctx.service(name)');
    if (!this.#cell.node.clustered) throw invalid('ctx.service(name)', 'a system that is a node of a cluster (createSystem({ cluster }))', name);
    return serviceHandle(this.#cell.node.crossNode, name) as never;
  }

  stop(ref?: ActorRefImpl): Promise<void> {
    if (ref !== undefined) {
      try {
        checkRef(ref, 'ctx.stop(ref)');
      } catch (error) {
        return Promise.reject(error);
      }
      return this.#cell.node.stopRef(ref);
    }
    const cell = this.#cell;
    // A permanent child of a supervisor is restarted even after a normal exit (OTP): its parent
    // decides, as after a failure. Make such a child 'transient' for a stop that ends it.
    if (cell.policy.supervised && cell.policy.restart === 'permanent' && this.#cell.node.stopReason !== 'shutdown') {
      cell.exitNormally();
      return Promise.resolve();
    }
    return this.#cell.node.stopCell(cell, 'normal');
  }
  get timers(): ActorTimers {
    return this.#cell.timers;
  }
  watch(ref: ActorRefImpl): void {
    this.#cell.node.deathWatch.watch(this.#cell, ref);
  }
  link(ref: ActorRefImpl): void {
    this.#cell.node.links.link(this.#cell, ref);
  }
  unlink(ref: ActorRefImpl): void {
    this.#cell.node.links.unlink(this.#cell, ref);
  }
  trapExits(on: boolean): void {
    this.#cell.trapExit = on === true;
  }
  unwatch(ref: ActorRefImpl): void {
    this.#cell.node.deathWatch.unwatch(this.#cell, ref);
  }
  publish(topic: string, type: string, payload?: unknown, options?: MessageOptions): number {
    return this.#cell.node.topics.publish(topic, type, payload, options);
  }
  subscribe(topic: string, options?: { group?: string }): void {
    this.#cell.node.topics.subscribe(topic, this.#cell.self, options?.group);
  }
  unsubscribe(topic: string, options?: { group?: string }): void {
    this.#cell.node.topics.unsubscribe(topic, this.#cell.self, options?.group);
  }
  offload<R>(taskModuleUrl: string, input?: unknown, options?: { name?: string }): Promise<R> {
    return this.#cell.node.offload(taskModuleUrl, input, options?.name) as Promise<R>;
  }
  get trace(): string | undefined {
    return activeTrace();
  }

  get deliveryCount(): number {
    return this.#cell.attempt?.count ?? 1;
  }
  get redelivered(): boolean {
    return this.deliveryCount > 1;
  }
  ack(): void {
    settleAttempt(this.#cell, 'ack');
  }
  nack(delayMs = 0): void {
    settleAttempt(this.#cell, 'nack', validateNumber(delayMs, 'ctx.nack(delayMs)', 0, 2 ** 31));
  }
  inProgress(): void {
    settleAttempt(this.#cell, 'in-progress');
  }
  term(): void {
    settleAttempt(this.#cell, 'term');
  }
  deferAck(): AckHandle {
    return deferAck(this.#cell);
  }
}
