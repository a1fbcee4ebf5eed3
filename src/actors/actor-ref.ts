// ActorRef: where an actor lives (thread, key) and the node that sends for it. A ref travels in
// messages by value (thread, key) and binds to the node of the thread that decodes it. Written for
// another process (a cluster's wire), it also names its system, so that the process that reads it
// knows it as a ref to another node (remote-ref.ts), or as its own again.

import { registerWireClass } from '../runtime/codec.js';
import { invalid, validateKeys, validateObject } from '../validate.js';
import type { AskOptions, MessageOptions, SendOptions, SendResult } from './types.js';

/**
 * While a message is encoded for another process: the system (its id and node name) that the
 * local refs in it belong to; null while encoding for a thread of this process.
 */
export const crossNodeStamp: { current: readonly [systemId: string, nodeName: string] | null } = { current: null };

/** What decodes a ref: the host of the thread reading it. */
export interface RefDecoder {
  refFor(thread: number, key: number): ActorRefImpl;
  /** A ref to an actor of system `systemId` (node `nodeName`): a remote one, or a local one if that is this system. */
  remoteRef(systemId: string, nodeName: string, thread: number, key: number): ActorRefImpl;
}

/** A ref in its wire form: [thread, key, name?] within a process, [thread, key, name, system, node] between processes. */
export type WireRef = [number, number, string?] | [number, number, string | null, string, string];

/** Reads a ref's wire form (both shapes). */
export function readRef(data: unknown, context: unknown): ActorRefImpl {
  const wire = data as WireRef;
  const decoder = context as RefDecoder;
  const ref = wire.length > 3 ? decoder.remoteRef(wire[3] as string, wire[4] as string, wire[0], wire[1]) : decoder.refFor(wire[0], wire[1]);
  if (typeof wire[2] === 'string') ref.name = wire[2];
  return ref;
}

/** The host that sends for a ref: the node of the thread that made or decoded it. */
export interface RefHost {
  idOf(key: number): string;
  refFor(thread: number, key: number): ActorRefImpl;
  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined): void;
  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult>;
  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown>;
}

export class ActorRefImpl {
  readonly #node: RefHost;
  /** Where the actor lives, as far as this ref knows: a send follows it when it moves (node/moves.ts). */
  thread: number;
  readonly key: number;
  /**
   * The host's own record of the actor behind a same-thread ref, once looked up (null: not
   * found; undefined: not yet): keys are never reused, so a tell needs no lookup after the first.
   */
  cell: object | null | undefined = undefined;
  /** Its definition's name, where known (the ref came from spawn, or travelled with it). */
  name: string | undefined = undefined;

  constructor(node: RefHost, thread: number, key: number) {
    this.#node = node;
    this.thread = thread;
    this.key = key;
  }

  get id(): string {
    return this.#node.idOf(this.key);
  }

  /** An entity's address (module, name, key) for a ref to an entity (entity/entity-ref.ts); else undefined. */
  get entity(): readonly [moduleUrl: string, name: string, key: string] | undefined {
    return undefined;
  }

  tell(type: string, payload?: unknown, options?: MessageOptions): void {
    if (options !== undefined) checkOptions(options, TELL_KEYS);
    this.#node.tell(this, type, payload, options);
  }

  send(type: string, payload?: unknown, options?: SendOptions): Promise<SendResult> {
    if (options !== undefined) {
      try {
        checkOptions(options, SEND_KEYS);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#node.send(this, type, payload, options);
  }

  ask(type: string, payload?: unknown, options?: AskOptions): Promise<unknown> {
    if (options !== undefined) {
      try {
        checkOptions(options, ASK_KEYS);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#node.ask(this, type, payload, options);
  }

  /** Its definition's name, if known, and id: how errors name the actor. */
  describe(): string {
    return this.name === undefined ? this.id : `${this.name} ${this.id}`;
  }

  toString(): string {
    return `ActorRef(${this.describe()}@${this.thread})`;
  }

  /** util.inspect(ref), console.log(ref): the same as toString(). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  toJSON(): { id: string; thread: number } {
    return { id: this.id, thread: this.thread };
  }
}

/** The options each call takes: anything else is refused, named (validate.ts). */
export const TELL_KEYS = ['priority', 'messageId', 'trace'] as const;
export const SEND_KEYS = ['priority', 'messageId', 'trace', 'timeoutMs', 'signal'] as const;
export const ASK_KEYS = ['priority', 'messageId', 'trace', 'timeoutMs', 'signal'] as const;

/** Options given to a call: an object, with no key it does not take. */
export function checkOptions(options: unknown, allowed: readonly string[]): void {
  validateKeys(validateObject(options, 'options'), 'options', allowed);
}

/** The one check that a value passed as a ref is one (a typed error, not a crash further in). */
export function checkRef(ref: unknown, name: string): asserts ref is ActorRefImpl {
  if (!(ref instanceof ActorRefImpl)) throw invalid(name, 'an ActorRef', ref);
}

registerWireClass(
  ActorRefImpl,
  0x41,
  (ref): WireRef => {
    const stamp = crossNodeStamp.current;
    if (stamp !== null) return [ref.thread, ref.key, ref.name ?? null, stamp[0], stamp[1]];
    return ref.name === undefined ? [ref.thread, ref.key] : [ref.thread, ref.key, ref.name];
  },
  readRef,
);
