// What comes to this node from the wire: batches on its inbox and on the subjects of the
// services it serves, each checked whole (its protocol, every call's shape) before any call in it
// is made, then handed call by call, in order, to the actors here as if main had made each call.
// Answers go back through the gateway's links (gateway.ts); a batch is answered once this node's
// backlog to its workers is under the high-water mark (back-pressure across nodes).

import type { ActorRefImpl } from '../actors/actor-ref.js';
import { portableDefinition } from '../actors/define.js';
import type { Logger } from '../actors/logger.js';
import type { ActorNode } from '../actors/node/node.js';
import type { WireOptions } from '../actors/node/wire.js';
import type { AnyDefinition, AskOptions, DeadLetterReason, ExitReason, MessageOptions, SpawnOptions } from '../actors/types.js';
import { ActorInitializationError, ActorStoppedError, MailboxFullError, ShuttingDownError, toWire } from '../errors.js';
import type { NatsMsg } from './nats.js';
import type { Services } from './services.js';
import type { EntityRouter } from './entity-router.js';
import { decodeBatch, Entry, PROTOCOL, wellFormed, type Call } from './wire-batch.js';

/** What the inbox needs of the gateway. */
export interface InboxHost {
  /** This system's id and node name. */
  readonly stamp: readonly [string, string];
  readonly services: Services;
  /** Entities across the nodes; null until the shard directory is read. */
  readonly entities: EntityRouter | null;
  /** Sends the answer to call `corr` of node `systemId`. */
  answer(systemId: string, nodeName: string, corr: number, ok: boolean, value: unknown): void;
  /** Sends a call to node `systemId` (a Terminated). */
  push(systemId: string, nodeName: string, call: Call): void;
  /** The answer, from node `systemId`, to one of this node's calls (taken only for one it made of that node or of a service). */
  settle(systemId: string, corr: number, ok: boolean, value: unknown): void;
  /** An actor of another node that actors here watch ended. */
  endedThere(id: string, reason: ExitReason): void;
  deadLetter(recipient: string, type: string, payload: unknown, reason: DeadLetterReason): void;
}

export class Inbox {
  readonly #host: InboxHost;
  readonly #node: ActorNode;
  readonly #logger: Logger;
  /** What other nodes may start here (options.cluster.definitions); null: any portable definition. */
  readonly #definitions: ReadonlyMap<string, AnyDefinition> | null;
  /** Actors of this node watched from other nodes, by the watching system and the actor's key: what cancels the watch here. */
  readonly #watchedHere = new Map<string, { systemId: string; nodeName: string; thread: number; key: number; cancel: () => void }>();
  /** Watches of nodes declared gone, cut here: told to them as `node-down` should they come back. */
  readonly #cutWatches = new Map<string, (readonly [thread: number, key: number, nodeName: string])[]>();

  constructor(host: InboxHost, node: ActorNode, definitions: ReadonlyMap<string, AnyDefinition> | null, logger: Logger) {
    this.#host = host;
    this.#node = node;
    this.#definitions = definitions;
    this.#logger = logger;
  }

  /**
   * Node `systemId` is gone: its watches of actors here end. Each is remembered, should the
   * membership readmit it (a node paused past downAfterMs): it then hears `node-down` for them,
   * as this node's watchers of its actors did, instead of waiting for ever.
   */
  nodeGone(systemId: string): void {
    const ended: (readonly [thread: number, key: number, nodeName: string])[] = [];
    for (const [key, entry] of [...this.#watchedHere]) {
      if (entry.systemId !== systemId) continue;
      this.#watchedHere.delete(key);
      entry.cancel();
      ended.push([entry.thread, entry.key, entry.nodeName]);
    }
    if (ended.length > 0) this.#cutWatches.set(systemId, ended);
  }

  /** Node `systemId` is a member again: what it watched here when it was declared gone ends for it, `node-down`. */
  nodeBack(systemId: string): void {
    const ended = this.#cutWatches.get(systemId);
    if (ended === undefined) return;
    this.#cutWatches.delete(systemId);
    for (const [thread, key, nodeName] of ended) this.#host.push(systemId, nodeName, [Entry.Terminated, thread, key, 'node-down']);
  }

  /** Reads a batch from the wire (this node's inbox, or a service it serves) and answers its request. */
  readonly onBatch = (error: Error | null, msg: NatsMsg): void => {
    if (error !== null) {
      this.#logger.error(`cluster: a subscription failed: ${error.message}`);
      return;
    }
    try {
      this.#take(msg.data);
    } catch (failure) {
      this.#logger.error(`cluster: a batch could not be read: ${(failure as Error).message}`);
      msg.respond(new TextEncoder().encode((failure as Error).message));
      return;
    }
    this.#respondWhenRoom(msg, performance.now());
  };

  /**
   * Says a batch was taken once this thread's backlog to its workers is under the high-water mark
   * again: a sender has at most WINDOW batches unanswered, so a node whose actors cannot keep up
   * slows the nodes that send to it, instead of piling their messages up here (up to 10 s, then
   * it answers anyway rather than have the sender take the batch for lost).
   */
  #respondWhenRoom(msg: NatsMsg, since: number): void {
    const runtime = this.#node.runtime;
    let backlogged = false;
    for (let t = 1; t < this.#node.threadCount && !backlogged; t++) backlogged = runtime.isBacklogged(t);
    if (!backlogged || performance.now() - since > 10_000) {
      msg.respond();
      return;
    }
    setTimeout(() => this.#respondWhenRoom(msg, since), 1);
  }

  /** Node `systemId` watches actor (thread, key) of this one. */
  #watchHere(systemId: string, nodeName: string, thread: number, key: number): void {
    const ref = this.#local(thread, key);
    const id = `${systemId}|${key}`;
    if (ref === null) {
      this.#host.push(systemId, nodeName, [Entry.Terminated, thread, key, 'noproc']);
      return;
    }
    if (this.#watchedHere.has(id)) return;
    const cancel = this.#node.deathWatch.watchWith(ref, (reason) => {
      this.#watchedHere.delete(id);
      this.#host.push(systemId, nodeName, [Entry.Terminated, thread, key, reason]);
    });
    this.#watchedHere.set(id, { systemId, nodeName, thread, key, cancel });
  }

  #unwatchHere(systemId: string, key: number): void {
    const id = `${systemId}|${key}`;
    const entry = this.#watchedHere.get(id);
    if (entry === undefined) return;
    this.#watchedHere.delete(id);
    entry.cancel();
  }

  #take(bytes: Uint8Array): void {
    const [protocol, systemId, nodeName, calls] = decodeBatch(bytes, this.#node);
    if (protocol !== PROTOCOL) throw new Error(`cluster protocol ${protocol} is not this node's (${PROTOCOL})`);
    // Checked whole before any call is made: a batch is taken, or refused, as one.
    if (!calls.every(wellFormed)) throw new Error(`node ${nodeName} sent a call of a shape this node does not know`);
    for (const call of calls) {
      try {
        this.#takeOne(systemId, nodeName, call);
      } catch (error) {
        this.#logger.warn(`cluster: a call from node ${nodeName} failed here: ${(error as Error).message}`);
      }
    }
  }

  #takeOne(systemId: string, nodeName: string, call: Call): void {
    switch (call[0]) {
      case Entry.Tell:
        this.#tellHere(call[1], call[2], call[3], call[4], call[5]);
        return;
      case Entry.Ask:
      case Entry.Send:
        this.#callHere(systemId, nodeName, call[0], call[1], call[2], call[3], call[4], call[5], call[6]);
        return;
      case Entry.Spawn:
        this.#spawnHere(systemId, nodeName, call[1], call[2], call[3], call[4]);
        return;
      case Entry.Stop: {
        const ref = this.#local(call[2], call[3]);
        const mode = call[4];
        const stopped = ref === null ? Promise.resolve() : this.#node.stopRef(ref, mode === 'graceful', mode === 'kill');
        stopped.then(
          () => this.#host.answer(systemId, nodeName, call[1], true, undefined),
          (error: unknown) => this.#host.answer(systemId, nodeName, call[1], false, toWire(error)),
        );
        return;
      }
      case Entry.Watch:
        this.#watchHere(systemId, nodeName, call[1], call[2]);
        return;
      case Entry.Unwatch:
        this.#unwatchHere(systemId, call[2]);
        return;
      case Entry.Terminated:
        this.#host.endedThere(`${systemId}.${call[2].toString(36)}`, call[3]);
        return;
      case Entry.Lookup:
        this.#host.answer(systemId, nodeName, call[1], true, this.#node.names.here(call[2]) ?? null);
        return;
      case Entry.ToService:
        this.#host.services.take(systemId, nodeName, call);
        return;
      case Entry.ToEntity:
        if (this.#host.entities === null) this.#host.deadLetter(`${call[3]}/${call[4]}`, call[5], call[6], 'node-down');
        else this.#host.entities.take(systemId, nodeName, call);
        return;
      case Entry.Answer:
        this.#host.settle(systemId, call[1], call[2], call[3]);
        return;
      default:
        return;
    }
  }

  /** An actor of this node named by a peer: a ref, or null if the address cannot be one. */
  #local(thread: unknown, key: unknown): ActorRefImpl | null {
    if (!Number.isInteger(thread) || (thread as number) < 0 || (thread as number) >= this.#node.threadCount) return null;
    if (!Number.isInteger(key) || (key as number) <= 0) return null;
    return this.#node.refFor(thread as number, key as number);
  }

  #tellHere(thread: number, key: number, type: string, payload: unknown, options: WireOptions | null): void {
    const ref = this.#local(thread, key);
    if (ref === null) {
      this.#host.deadLetter(`${this.#node.systemId}.?`, String(type), payload, 'stopped');
      return;
    }
    try {
      ref.tell(type, payload, (options ?? undefined) as MessageOptions | undefined);
    } catch (error) {
      this.#host.deadLetter(ref.id, String(type), payload, reasonOf(error));
    }
  }

  #callHere(systemId: string, nodeName: string, kind: Entry.Ask | Entry.Send, corr: number, thread: number, key: number, type: string, payload: unknown, options: WireOptions | null): void {
    const ref = this.#local(thread, key);
    const given = (options ?? undefined) as AskOptions | undefined;
    const outcome =
      ref === null
        ? Promise.reject(new ActorStoppedError(`actor ${systemId === this.#node.systemId ? '' : 'of another node'} at thread ${thread} is not here`))
        : kind === Entry.Ask
          ? ref.ask(type, payload, given)
          : ref.send(type, payload, given);
    outcome.then(
      (value) => this.#host.answer(systemId, nodeName, corr, true, value),
      (error: unknown) => this.#host.answer(systemId, nodeName, corr, false, toWire(error)),
    );
  }

  /** Another node starts an actor here: by a name this node gave its own code's definition, never by code from the wire. */
  #spawnHere(systemId: string, nodeName: string, corr: number, name: unknown, args: unknown, options: unknown): void {
    const definition = typeof name !== 'string' ? null : this.#definitions === null ? portableDefinition(name) : (this.#definitions.get(name) ?? null);
    if (definition === null) {
      const why = `node ${this.#host.stamp[1]} has no definition named ${JSON.stringify(name)} that another node may start (its own code defines it in a module file, under a name no other of its definitions has${this.#definitions === null ? '' : ', and options.cluster.definitions lists it'})`;
      this.#logger.warn(`cluster: node ${nodeName} asked to start an actor: refused: ${why}`);
      this.#host.answer(systemId, nodeName, corr, false, toWire(new ActorInitializationError(why)));
      return;
    }
    this.#node.start(definition, args, options as SpawnOptions | undefined, null).then(
      (ref) => this.#host.answer(systemId, nodeName, corr, true, ref),
      (error: unknown) => this.#host.answer(systemId, nodeName, corr, false, toWire(error)),
    );
  }
}

/** Why a tell from another node that an actor here could not take is a dead letter. */
export function reasonOf(error: unknown): DeadLetterReason {
  if (error instanceof ActorStoppedError) return 'stopped';
  if (error instanceof MailboxFullError) return 'mailbox-full';
  if (error instanceof ShuttingDownError) return 'shutdown';
  return 'decode-failed';
}
