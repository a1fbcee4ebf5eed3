// defineEntity: an actor addressed by a key rather than spawned (a virtual actor). The one
// activation of a key lives on a thread its key picks; it starts on its first message, leaves
// memory after idleMs without one, and comes back with the state it last committed. init(key)
// runs once in the key's whole life. A handler's new state is committed when it completes; one
// that throws (or leaves a state that cannot be encoded) fails, and the restarted activation
// resumes from the state committed before that message.

import { invalid, isThenable, validateFunction, validateNumber, validateObject, validateString } from '../../validate.js';
import { defineKind } from '../define.js';
import { Delivery } from './delivery.js';
import type { HeldMessage } from './outbox.js';
import type { ActorContext, ActorSpec, AnyEntityDefinition, EntityDefinition, EntitySpec, Handler, Handlers, ReminderOptions } from '../types.js';

export const ENTITY = Symbol.for('troupe.entity');

/** Passivated after this long without a message, unless the definition says otherwise. */
export const DEFAULT_IDLE_MS = 60_000;

/** What the definition carries besides an actor's: how the entity lives. */
export interface EntityKind {
  readonly idleMs: number;
}

/**
 * What an activation's cell starts from (its spawn arguments, made on the key's thread): the key,
 * and how it reads and commits its state (entities.ts keeps what is committed).
 */
export interface EntityActivation {
  readonly key: string;
  /** The committed state, if this key has one. */
  restore(): { found: boolean; state: unknown };
  /**
   * Commits `state`, with the end of the delivery it was handling if any; throws
   * SerializationError if it cannot be encoded. Null: nothing to await.
   */
  commit(state: unknown, delivery: Delivery | null): Promise<void> | null;
  /** A handler starts: changes an earlier one made and did not commit (it failed) are dropped. */
  begin(): void;
  /** A tell or send of the handler to an entity: held until its commit (outbox.ts). */
  hold(message: HeldMessage): void;
  /** ctx.remind and ctx.cancelReminder: kept until the handler's commit. */
  remind(name: string, when: ReminderOptions): void;
  cancelReminder(name: string): void;
}

export function defineEntity<State, H extends Handlers<State>>(moduleUrl: string, name: string, spec: EntitySpec<State, H>): EntityDefinition<State, H> {
  validateString(name, 'defineEntity(name)');
  validateObject(spec, 'defineEntity(spec)');
  if (spec.init !== undefined) validateFunction(spec.init, 'defineEntity(spec).init');
  validateObject(spec.handlers, 'defineEntity(spec).handlers');
  for (const [type, handler] of Object.entries(spec.handlers)) validateFunction(handler, `defineEntity(spec).handlers.${type}`);
  if (spec.receive !== undefined) validateFunction(spec.receive, 'defineEntity(spec).receive');
  for (const key of Object.keys(spec)) {
    if (!['init', 'handlers', 'receive', 'idleMs'].includes(key)) throw invalid(`defineEntity(spec).${key}`, 'one of init, handlers, receive, idleMs', key);
  }
  const idleMs = spec.idleMs === undefined ? DEFAULT_IDLE_MS : validateNumber(spec.idleMs, 'defineEntity(spec).idleMs', 1, 2 ** 31 - 1);
  const handlers: Record<string, Handler<unknown>> = {};
  for (const [type, handler] of Object.entries(spec.handlers)) handlers[type] = committing(handler as Handler<unknown>);
  const kind: EntityKind = Object.freeze({ idleMs });
  const actorSpec: ActorSpec<EntityActivation, unknown, Handlers<unknown>> = {
    init: (activation: EntityActivation) => start(activation, spec.init),
    handlers,
    ...(spec.receive === undefined ? {} : { receive: committingReceive(spec.receive as (ctx: ActorContext<unknown>, type: string, payload: unknown) => unknown) }),
  };
  return defineKind(moduleUrl, name, actorSpec, { [ENTITY]: kind }) as unknown as EntityDefinition<State, H>;
}

export function isEntity(value: unknown): value is AnyEntityDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ENTITY] !== undefined;
}

export function entityKind(definition: AnyEntityDefinition): EntityKind {
  return (definition as unknown as Record<symbol, EntityKind>)[ENTITY]!;
}

/** An activation's first state: the committed one, or else init(key), committed at once (init runs once). */
function start(activation: EntityActivation, init: ((key: string) => unknown) | undefined): unknown {
  const { found, state } = activation.restore();
  if (found) return state;
  const made = init === undefined ? undefined : init(activation.key);
  if (!isThenable(made)) return after(activation.commit(made, null), made);
  return Promise.resolve(made).then((value) => after(activation.commit(value, null), value));
}

/** The handler, given the payload unwrapped, then a commit of the state it left (a commit that fails fails the handler). */
function committing(handler: Handler<unknown>): Handler<unknown> {
  return (ctx, payload) => {
    (ctx as unknown as { readonly args: EntityActivation }).args.begin();
    const delivery = payload instanceof Delivery ? payload : null;
    const result = handler(ctx, delivery === null ? payload : delivery.payload);
    if (!isThenable(result)) return after(commitOf(ctx, delivery), result);
    return Promise.resolve(result).then((value) => after(commitOf(ctx, delivery), value));
  };
}

function committingReceive(receive: (ctx: ActorContext<unknown>, type: string, payload: unknown) => unknown) {
  return (ctx: ActorContext<unknown>, type: string, payload: unknown): unknown => committing((c, p) => receive(c, type, p))(ctx, payload);
}

function commitOf(ctx: ActorContext<unknown>, delivery: Delivery | null): Promise<void> | null {
  // The activation is the cell's spawn argument, which its context reads (context.ts).
  return (ctx as unknown as { readonly args: EntityActivation }).args.commit(ctx.state, delivery);
}

/** `value`, once `commit` (if any) has resolved. */
function after<T>(commit: Promise<void> | null, value: T): T | Promise<T> {
  return commit === null ? value : commit.then(() => value);
}
