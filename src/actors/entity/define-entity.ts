// defineEntity: an actor addressed by a key rather than spawned (a virtual actor). The one
// activation of a key lives on a thread its key picks; it starts on its first message, leaves
// memory after idleMs without one, and comes back with the state it last committed. init(key)
// runs once in the key's whole life. A handler's new state is committed when it completes; one
// that throws (or leaves a state that cannot be encoded) fails, and the restarted activation
// resumes from the state committed before that message.

import { AsyncLocalStorage } from 'node:async_hooks';
import { invalid, isThenable, validateFunction, validateInteger, validateNumber, validateObject, validateString } from '../../validate.js';
import { defineKind } from '../define.js';
import { Delivery } from './delivery.js';
import { MAX_NAME_BYTES, byteLength } from './entity-ids.js';
import { LaterOutcome } from '../cell/later-outcome.js';
import type { HeldMessage } from './outbox.js';
import type { ActorContext, ActorSpec, AnyEntityDefinition, EntityDefinition, EntitySpec, Handler, Handlers, ReminderOptions } from '../types.js';

export const ENTITY = Symbol.for('troupe.entity');

/** Passivated after this long without a message, unless the definition says otherwise. */
export const DEFAULT_IDLE_MS = 60_000;

/** What the definition carries besides an actor's: how the entity lives. */
export interface EntityKind {
  readonly idleMs: number;
  readonly version: number;
}

/**
 * What an activation's cell starts from (its spawn arguments, made on the key's thread): the key,
 * and how it reads and commits its state (entities.ts keeps what is committed).
 */
export interface EntityActivation {
  readonly key: string;
  /** The committed state, if this key has one, and the version of the definition that stored it. */
  restore(): { found: boolean; state: unknown; version: number };
  /**
   * Commits `state`, with the end of the delivery it was handling if any; throws
   * SerializationError if it cannot be encoded. Null: nothing to await.
   */
  commit(state: unknown, delivery: Delivery | null, version: number): Promise<void> | null;
  /** A handler starts: changes an earlier one made and did not commit (it failed) are dropped. */
  begin(): void;
  /** Whether message `seq` has ended already (handled by another node: EntityStore.ended). */
  ended(seq: number): boolean;
  /**
   * Message `seq` is being handled (0: none now), said in the thread's mark: should the thread
   * die meanwhile, its replacement counts that against the message (entities.ts recover).
   */
  handling(seq: number): void;
  /** A tell or send of the handler to an entity: held until its commit (outbox.ts). */
  hold(message: HeldMessage): void;
  /** ctx.deleteEntity: with the handler's commit, everything of this key goes, and the activation starts afresh. */
  delete(): void;
  /** Whether the last commit deleted the key (asked once: the answer resets). */
  takeDeleted(): boolean;
  /** True from a handler's start to its commit: what it sends to entities now is held. */
  readonly open: boolean;
  /** ctx.remind and ctx.cancelReminder: kept until the handler's commit. */
  remind(name: string, when: ReminderOptions): void;
  cancelReminder(name: string): void;
}

export function defineEntity<State, H extends Handlers<State>>(moduleUrl: string, name: string, spec: EntitySpec<State, H>): EntityDefinition<State, H> {
  validateString(name, 'defineEntity(name)');
  if (name.length === 0 || byteLength(name) > MAX_NAME_BYTES) throw invalid('defineEntity(name)', `a string of 1 to ${MAX_NAME_BYTES} bytes (UTF-8)`, name);
  validateObject(spec, 'defineEntity(spec)');
  if (spec.init !== undefined) validateFunction(spec.init, 'defineEntity(spec).init');
  validateObject(spec.handlers, 'defineEntity(spec).handlers');
  for (const [type, handler] of Object.entries(spec.handlers)) validateFunction(handler, `defineEntity(spec).handlers.${type}`);
  if (spec.receive !== undefined) validateFunction(spec.receive, 'defineEntity(spec).receive');
  for (const key of Object.keys(spec)) {
    if (!['init', 'handlers', 'receive', 'idleMs', 'version', 'migrate'].includes(key)) throw invalid(`defineEntity(spec).${key}`, 'one of init, handlers, receive, idleMs, version, migrate', key);
  }
  const idleMs = spec.idleMs === undefined ? DEFAULT_IDLE_MS : validateNumber(spec.idleMs, 'defineEntity(spec).idleMs', 1, 2 ** 31 - 1);
  const version = spec.version === undefined ? 1 : validateInteger(spec.version, 'defineEntity(spec).version', 1, 2 ** 31 - 1);
  if (spec.migrate !== undefined) validateFunction(spec.migrate, 'defineEntity(spec).migrate');
  const handlers: Record<string, Handler<unknown>> = {};
  const life: Life = { init: spec.init as ((key: string) => unknown) | undefined, version, migrate: spec.migrate as Migrate | undefined, name };
  for (const [type, handler] of Object.entries(spec.handlers)) handlers[type] = committing(handler as Handler<unknown>, life);
  const kind: EntityKind = Object.freeze({ idleMs, version });
  const actorSpec: ActorSpec<EntityActivation, unknown, Handlers<unknown>> = {
    init: (activation: EntityActivation) => start(activation, life),
    handlers,
    ...(spec.receive === undefined ? {} : { receive: committingReceive(spec.receive as (ctx: ActorContext<unknown>, type: string, payload: unknown) => unknown, life) }),
  };
  return defineKind(moduleUrl, name, actorSpec, { [ENTITY]: kind }) as unknown as EntityDefinition<State, H>;
}

export function isEntity(value: unknown): value is AnyEntityDefinition {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[ENTITY] !== undefined;
}

export function entityKind(definition: AnyEntityDefinition): EntityKind {
  return (definition as unknown as Record<symbol, EntityKind>)[ENTITY]!;
}

type Migrate = (state: unknown, fromVersion: number) => unknown;

/** The activation whose handler runs in this async context, if any. */
const running = new AsyncLocalStorage<EntityActivation>();

/** The entity activation whose handler is running here (awaits included), if any. */
export function runningActivation(): EntityActivation | undefined {
  return running.getStore();
}

/** How an entity's state begins and changes shape: what start() needs. */
interface Life {
  readonly init: ((key: string) => unknown) | undefined;
  readonly version: number;
  readonly migrate: Migrate | undefined;
  readonly name: string;
}

/**
 * An activation's first state: the committed one (migrated first if an older version stored it),
 * or else init(key), committed at once (init runs once in the key's life).
 */
function start(activation: EntityActivation, { init, version, migrate, name }: Life): unknown {
  const stored = activation.restore();
  if (stored.found) {
    if (stored.version === version) return stored.state;
    if (stored.version > version) throw new Error(`the state of ${name} ${JSON.stringify(activation.key)} was stored by version ${stored.version}, newer than this definition's ${version}`);
    if (migrate === undefined) throw new Error(`the state of ${name} ${JSON.stringify(activation.key)} was stored by version ${stored.version}: this definition (version ${version}) has no migrate`);
    const migrated = migrate(stored.state, stored.version);
    return after(activation.commit(migrated, null, version), migrated);
  }
  const made = init === undefined ? undefined : init(activation.key);
  if (!isThenable(made)) return after(activation.commit(made, null, version), made);
  return Promise.resolve(made).then((value) => after(activation.commit(value, null, version), value));
}

/**
 * The handler, given the payload unwrapped, then a commit of the state it left (a commit that
 * fails fails the handler); after a commit that deleted the key, the state starts afresh before
 * the next message.
 */
function committing(handler: Handler<unknown>, life: Life): Handler<unknown> {
  return (ctx, payload) => {
    const activation = (ctx as unknown as { readonly args: EntityActivation }).args;
    activation.begin();
    const delivery = payload instanceof Delivery ? payload : null;
    if (delivery !== null && activation.ended(delivery.seq)) {
      // Handled already: another node took the key while this one was cut off, and the record
      // read again after this one's lost compare-and-set ends it. Not again: only its end is
      // committed here (with the state as that node left it); its answer is not known here.
      const commit = activation.commit(ctx.state, delivery, life.version);
      if (commit === null) return undefined;
      commit.catch(ignore); // a failure is the LaterOutcome's
      return new LaterOutcome(undefined, commit);
    }
    // The activation is found again from the handler's async context (awaits included): what it
    // sends to entities after an await is held too (entities.ts hold).
    activation.handling(delivery === null ? 0 : delivery.seq);
    let result: unknown;
    try {
      result = running.run(activation, handler, ctx, delivery === null ? payload : delivery.payload);
    } finally {
      if (!isThenable(result)) activation.handling(0);
    }
    const finish = (value: unknown): unknown => {
      const commit = activation.commit(ctx.state, delivery, life.version);
      if (activation.takeDeleted()) return commit === null ? afresh(ctx, activation, life, value) : commit.then(() => afresh(ctx, activation, life, value));
      if (commit === null) return value;
      // The next message goes on while this commit is written; the answer waits for it.
      commit.catch(ignore); // a failure is the LaterOutcome's (the attempt is undone), not unhandled
      return new LaterOutcome(value, commit);
    };
    if (!isThenable(result)) return finish(result);
    return Promise.resolve(result).then(
      (value) => {
        activation.handling(0);
        return finish(value);
      },
      (error: unknown) => {
        activation.handling(0);
        throw error;
      },
    );
  };
}

/** After ctx.deleteEntity: the state the key starts with (init runs again), then `value`. */
function afresh(ctx: ActorContext<unknown>, activation: EntityActivation, life: Life, value: unknown): unknown {
  const state = start(activation, life);
  if (!isThenable(state)) {
    ctx.state = state;
    return value;
  }
  return Promise.resolve(state).then((s) => {
    ctx.state = s;
    return value;
  });
}

function committingReceive(receive: (ctx: ActorContext<unknown>, type: string, payload: unknown) => unknown, life: Life) {
  return (ctx: ActorContext<unknown>, type: string, payload: unknown): unknown => committing((c, p) => receive(c, type, p), life)(ctx, payload);
}

function ignore(): void {}

/** `value`, once `commit` (if any) has resolved. */
function after<T>(commit: Promise<void> | null, value: T): T | Promise<T> {
  return commit === null ? value : commit.then(() => value);
}
