// Messages to actors on other nodes of a cluster, as a thread sees them: the host of every remote
// ref (remote-ref.ts) on the thread. On a worker, each goes to the main thread as a control record
// (the ring keeps a sender's order) and main's cluster gateway carries it on; the outcome of an
// ask or send comes back the same way. Main's port is the gateway itself (src/cluster/), or, in a
// system without a cluster, one that says so.

import { fromWire, InvalidArgumentError, toWire, type WireError } from '../../errors.js';
import { checkPayload } from '../../runtime/codec.js';
import { invalid } from '../../validate.js';
import type { ActorRefImpl, RefHost } from '../actor-ref.js';
import type { AskOptions, MessageOptions, SendOptions, SendResult } from '../types.js';
import { checkSignal, type AskTable } from './ask.js';
import type { EntityAddress } from '../entity/entity-ref.js';
import type { SourceMark } from '../entity/entity-store.js';
import type { ControlRecord, CrossNodeCall, StopMode, WireOptions } from './wire.js';

/** The host of remote refs on a thread. */
export interface CrossNodePort extends RefHost {
  /** Main: a call a worker makes to an actor on another node. */
  fromWorker(from: number, call: CrossNodeCall): void;
  /** A worker: the outcome of one of its asks or sends to another node. */
  answered(corr: number, ok: boolean, value: unknown): void;
  /**
   * Actor `watcherKey` of thread `watcherThread` watches (or, `on` false, no longer watches) the
   * actor of another node `ref`, known to it as `alias` (watchAlias): its end comes back as a
   * Terminated for that alias (death-watch.ts remoteEnded), reason `node-down` if its node goes.
   */
  watch(ref: ActorRefImpl, watcherThread: number, watcherKey: number, alias: number, on: boolean): void;
  /** Stops an actor of another node; resolves once it has stopped there. */
  stop(ref: ActorRefImpl, mode: StopMode): Promise<void>;
  /** A publish, for the other nodes' subscribers and for every group (topics.ts). */
  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): void;
  /** Thread `thread` died: what its actors asked of other nodes for themselves (watches) is dropped. */
  threadGone(thread: number): void;
  /** A call to the pools serving the cluster as `name` (cluster/services.ts): a tell (undefined), or an ask or send's outcome. */
  service(name: string, kind: 'tell' | 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> | undefined;
  /**
   * A call to an entity whose shard does not live on this node (or is between owners): carried
   * to the node that owns it (cluster/entity-router.ts). `source`: a message from an entity's outbox.
   */
  entity(address: EntityAddress, kind: 'tell' | 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined;
  /** Main: worker `from` did what a 'shards' record told it (its correlation id). */
  shardsDone(from: number, corr: number): void;
  /** Main: worker `from` started (a replacement of one that died, say): it is told the shards its node holds. */
  shardsWanted(from: number): void;
}

/** What system.service(name) and ctx.service(name) hand out: the calls of a ref, to a service. */
export function serviceHandle(port: CrossNodePort, name: string): { tell: ActorRefImpl['tell']; send: ActorRefImpl['send']; ask: ActorRefImpl['ask'] } {
  const call = (kind: 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> => {
    try {
      return port.service(name, kind, type, payload, options)!;
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    tell: (type, payload, options) => void port.service(name, 'tell', type, payload, options),
    send: (type, payload, options) => call('send', type, payload, options) as Promise<SendResult>,
    ask: (type, payload, options) => call('ask', type, payload, options),
  };
}

/**
 * Names for actors of other nodes in a watcher's `watching` map, which is keyed by actor key:
 * negative numbers, one per remote actor on this thread, so that none is taken for a local
 * actor of the same key.
 */
export class WatchAliases {
  readonly #byId = new Map<string, { alias: number; watchers: number }>();
  readonly #ids = new Map<number, string>();
  #next = 0;

  /** The alias of `ref`, made if it has none. */
  of(ref: ActorRefImpl): number {
    let entry = this.#byId.get(ref.id);
    if (entry === undefined) {
      entry = { alias: --this.#next, watchers: 0 };
      this.#byId.set(ref.id, entry);
      this.#ids.set(entry.alias, ref.id);
    }
    return entry.alias;
  }

  /** Its alias, if it has one. */
  peek(ref: ActorRefImpl): number | undefined {
    return this.#byId.get(ref.id)?.alias;
  }

  /** One more watcher on this thread holds `alias`. */
  hold(alias: number): void {
    const entry = this.#byId.get(this.#ids.get(alias)!);
    if (entry !== undefined) entry.watchers++;
  }

  /** One watcher less: with none left, the alias is forgotten. */
  release(alias: number): void {
    const id = this.#ids.get(alias);
    const entry = id === undefined ? undefined : this.#byId.get(id);
    if (entry === undefined || --entry.watchers > 0) return;
    this.#byId.delete(id!);
    this.#ids.delete(alias);
  }
}

/** The options of a call, as they cross: the signal left out. */
export function wireOptions(options: AskOptions | SendOptions | MessageOptions | undefined): WireOptions | null {
  if (options === undefined) return null;
  const out: { -readonly [K in keyof WireOptions]: WireOptions[K] } = {};
  const o = options as AskOptions;
  if (o.priority !== undefined) out.priority = o.priority;
  if (o.messageId !== undefined) out.messageId = o.messageId;
  if (typeof o.trace === 'string') out.trace = o.trace;
  if (o.timeoutMs !== undefined) out.timeoutMs = o.timeoutMs;
  return out;
}

/** An entity call's options as they cross, with the outbox source of the message (if any). */
export function entityOptions(options: AskOptions | undefined, source: SourceMark | null): WireOptions | null {
  const wire = wireOptions(options);
  return source === null ? wire : { ...wire, source };
}

/** What every port checks first, on the caller's thread: the errors a local call would throw. */
export function checkCall(type: unknown, payload: unknown): void {
  if (typeof type !== 'string') throw invalid('tell(type)', 'a message type string', type);
  checkPayload(payload);
}

export interface RelayHost {
  readonly asks: AskTable;
  readonly askTimeoutMs: number;
  control(thread: number, record: ControlRecord): void;
  idOf(key: number): string;
  refFor(thread: number, key: number): ActorRefImpl;
}

/** A worker's port: everything goes through main. */
export class WorkerRelay implements CrossNodePort {
  readonly #host: RelayHost;

  constructor(host: RelayHost) {
    this.#host = host;
  }

  idOf(key: number): string {
    return this.#host.idOf(key);
  }

  refFor(thread: number, key: number): ActorRefImpl {
    return this.#host.refFor(thread, key);
  }

  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined): void {
    checkCall(type, payload);
    this.#host.control(0, ['xn-call', ['tell', 0, ref, type, payload, wireOptions(options)]]);
  }

  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    return this.#call('send', ref, type, payload, options) as Promise<SendResult>;
  }

  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    return this.#call('ask', ref, type, payload, options);
  }

  #call(kind: 'ask' | 'send', ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    try {
      checkCall(type, payload);
      const signal = checkSignal(options?.signal);
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      // Main times the call out too; this timer only answers this thread's caller if main cannot.
      const timeoutMs = kind === 'ask' ? (options?.timeoutMs ?? this.#host.askTimeoutMs) : 0;
      const { corr, promise } = this.#host.asks.open(timeoutMs, ref, 0, type);
      this.#host.asks.abortWith(corr, promise, signal);
      this.#host.control(0, ['xn-call', [kind, corr, ref, type, payload, wireOptions(options)]]);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  fromWorker(): void {
    throw new Error('a worker does not carry calls to other nodes');
  }

  answered(corr: number, ok: boolean, value: unknown): void {
    if (ok) this.#host.asks.resolve(corr, value);
    else this.#host.asks.reject(corr, fromWire(value as WireError));
  }

  watch(ref: ActorRefImpl, _watcherThread: number, watcherKey: number, alias: number, on: boolean): void {
    this.#host.control(0, ['xn-watch', ref, watcherKey, alias, on]);
  }

  threadGone(): void {}

  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): void {
    checkCall(type, payload);
    this.#host.control(0, ['xn-publish', topic, type, payload, wireOptions(options)]);
  }

  service(name: string, kind: 'tell' | 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> | undefined {
    checkCall(type, payload);
    if (kind === 'tell') {
      this.#host.control(0, ['xn-service', 0, name, kind, type, payload, wireOptions(options)]);
      return undefined;
    }
    const signal = checkSignal(options?.signal);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    // Main times the call out; this thread's timer answers its caller only if main cannot.
    const { corr, promise } = this.#host.asks.open(kind === 'ask' ? (options?.timeoutMs ?? this.#host.askTimeoutMs) : 0, () => `${kind} to service ${JSON.stringify(name)}`, 0, type);
    this.#host.asks.abortWith(corr, promise, signal);
    this.#host.control(0, ['xn-service', corr, name, kind, type, payload, wireOptions(options)]);
    return promise;
  }

  entity(address: EntityAddress, kind: 'tell' | 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined {
    checkCall(type, payload);
    const wire = entityOptions(options, source);
    if (kind === 'tell') {
      this.#host.control(0, ['xn-entity', 0, address, kind, type, payload, wire]);
      return undefined;
    }
    const signal = checkSignal(options?.signal);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    // Main times the call out; this thread's timer answers its caller only if main cannot.
    const { corr, promise } = this.#host.asks.open(kind === 'ask' ? (options?.timeoutMs ?? this.#host.askTimeoutMs) : 0, () => `${kind} to entity ${address[1]}/${address[2]}`, 0, type);
    this.#host.asks.abortWith(corr, promise, signal);
    this.#host.control(0, ['xn-entity', corr, address, kind, type, payload, wire]);
    return promise;
  }

  shardsDone(): void {}

  shardsWanted(): void {}

  stop(ref: ActorRefImpl, mode: StopMode): Promise<void> {
    // No timeout, as for a local stop: main answers when it is done, or when its node is gone.
    const { corr, promise } = this.#host.asks.open<void>(0, () => `stop of ${ref.describe()}`, 0);
    this.#host.control(0, ['xn-call', ['stop', corr, ref, mode, undefined, null]]);
    return promise;
  }
}

/** Main's port in a system that is not in a cluster: no remote ref can reach it, but say so if one does. */
export class NoCluster implements CrossNodePort {
  readonly #host: Pick<RelayHost, 'idOf' | 'refFor'>;

  constructor(host: Pick<RelayHost, 'idOf' | 'refFor'>) {
    this.#host = host;
  }

  idOf(key: number): string {
    return this.#host.idOf(key);
  }

  refFor(thread: number, key: number): ActorRefImpl {
    return this.#host.refFor(thread, key);
  }

  tell(): void {
    throw notInCluster();
  }

  send(): Promise<SendResult> {
    return Promise.reject(notInCluster());
  }

  ask(): Promise<unknown> {
    return Promise.reject(notInCluster());
  }

  fromWorker(): void {
    throw notInCluster();
  }

  answered(): void {}

  watch(): void {
    throw notInCluster();
  }

  threadGone(): void {}

  stop(): Promise<void> {
    return Promise.reject(notInCluster());
  }

  publish(): void {
    throw notInCluster();
  }

  service(): Promise<unknown> | undefined {
    throw notInCluster();
  }

  entity(): Promise<unknown> | undefined {
    throw notInCluster();
  }

  shardsDone(): void {}

  shardsWanted(): void {}
}

function notInCluster(): Error {
  return new InvalidArgumentError('a ref to an actor on another node, in a system that is not in a cluster (createSystem({ cluster }))');
}

/** An outcome as it crosses back to a worker. */
export function answerRecord(corr: number, ok: boolean, value: unknown): ControlRecord {
  return ['xn-answer', corr, ok, ok ? value : toWire(value)];
}
