// The main thread's door to the other nodes: the host of every remote ref on main (and, through
// main, on the workers: node/cross-node.ts). A call to an actor on another node goes into that
// node's link (link.ts), in order; what comes back, and what other nodes send, is read by the
// inbox (inbox.ts), whose answers go out through the links too. What cannot be delivered is never
// dropped in silence: a tell becomes a dead letter (node-down, too-large), an ask or a send
// rejects, with the same errors as between threads; the membership's verdicts arrive here.

import { ActorStoppedError, fromWire, MessageTooLargeError, NodeDownError, toWire, type WireError } from '../errors.js';
import type { ActorRefImpl } from '../actors/actor-ref.js';
import { checkSignal, type AskSubject } from '../actors/node/ask.js';
import { Envelope, EnvelopeKind } from '../actors/cell/envelope.js';
import type { Logger } from '../actors/logger.js';
import { answerRecord, checkCall, wireOptions, type CrossNodePort } from '../actors/node/cross-node.js';
import type { ActorNode } from '../actors/node/node.js';
import type { CrossNodeCall, StopMode } from '../actors/node/wire.js';
import type { RemoteRefImpl } from '../actors/remote-ref.js';
import type { AnyDefinition, AskOptions, DeadLetterReason, ExitReason, MessageOptions, SendOptions, SendResult, SpawnOptions } from '../actors/types.js';
import { checkPayload } from '../runtime/codec.js';
import { STAT_ACCEPTED } from '../runtime/layout.js';
import { Inbox, reasonOf } from './inbox.js';
import { Link, undelivered, type LinkHost } from './link.js';
import { serviceRecipient, Services } from './services.js';
import { TopicBridge, type Deliver } from './topic-bridge.js';
import type { NatsConnection, NatsMsg } from './nats.js';
import { Entry, ServiceCall, type Call } from './wire-batch.js';
import type { EntityRouter } from './entity-router.js';
import type { EntityAddress } from '../actors/entity/entity-ref.js';
import type { SourceMark } from '../actors/entity/entity-store.js';

/** How long a batch may wait for its node to take it before its fate is reported unknown. */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long a send without a timeout, or a stop, waits for its answer from another node. */
const UNANSWERED_MS = 60_000;

export class Gateway implements CrossNodePort, LinkHost {
  readonly stamp: readonly [string, string];
  readonly maxPayload: number;
  readonly #node: ActorNode;
  readonly #nc: NatsConnection;
  readonly #logger: Logger;
  readonly #prefix: string;
  readonly #links = new Map<string, Link>();
  /**
   * System ids of nodes the membership declared gone, and when: a call to one fails at once. Kept
   * an hour (an id is one process start's: it comes back only if the membership readmits it).
   */
  readonly #gone = new Map<string, number>();
  /** The NATS connection closed for good: every other node is out of reach. */
  #lost = false;
  /** Correlation ids of this node's calls to other nodes waiting for an answer (#expect). */
  readonly #pending = new Map<number, Link>();
  #inbox: { unsubscribe(): void } | null = null;
  /** Pools of this node that serve the cluster by name, and calls to such pools anywhere. */
  readonly services: Services;
  /** Topics across the nodes: this node's subscriptions to them in NATS, and publishing. */
  readonly #topics: TopicBridge;
  /** Actors of other nodes watched from this node, by id: the ref, and its watchers here by thread and key (with their alias for it). */
  readonly #watched = new Map<string, { ref: RemoteRefImpl; watchers: Map<string, readonly [thread: number, key: number, alias: number]> }>();
  /** What comes from the wire (inbox.ts). */
  readonly #reader: Inbox;
  /** Entities across the nodes (entity-router.ts): set once the shard directory is read. */
  entities: EntityRouter | null = null;

  constructor(node: ActorNode, nc: NatsConnection, namespace: string, nodeName: string, logger: Logger, definitions: ReadonlyMap<string, AnyDefinition> | null) {
    this.#node = node;
    this.#reader = new Inbox(this, node, definitions, logger);
    this.#nc = nc;
    this.#logger = logger;
    this.#prefix = `${namespace}.n.`;
    this.stamp = [node.systemId, nodeName];
    this.maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const deliver: Deliver = (topic, group, type, payload, options) => {
      try {
        node.topics.deliver(topic, group, type, payload, options);
      } catch (error) {
        this.#logger.warn(`cluster: a message published to topic ${JSON.stringify(topic)} was not delivered here: ${(error as Error).message}`);
      }
    };
    this.services = new Services(this, namespace);
    this.#topics = new TopicBridge(nc, namespace, this.stamp, node.topics.table, deliver, node, logger);
    node.topics.table.onChange = (topic) => {
      if (this.#lost) return; // cut off: topics are this node's alone now
      try {
        this.#topics.changed(topic);
      } catch (error) {
        this.#logger.warn(`cluster: topic ${JSON.stringify(topic)}'s subscription in NATS could not follow: ${(error as Error).message}`);
      }
    };
  }

  /** Starts reading this node's inbox. */
  listen(): void {
    this.#inbox = this.#nc.subscribe(this.#prefix + this.#node.systemId, { callback: this.onBatch });
  }

  /** Reads a batch from the wire (this node's inbox, or a service it serves) and answers its request. */
  get onBatch(): (error: Error | null, msg: NatsMsg) => void {
    return this.#reader.onBatch;
  }

  // ---- ServiceHost (services.ts) ----------------------------------------------------------------

  get nc(): NatsConnection {
    return this.#nc;
  }

  get askTimeoutMs(): number {
    return this.#node.askTimeoutMs;
  }

  serviceLink(name: string, subject: string): Link | null {
    if (this.#lost) return null;
    const id = `service:${name}`;
    let link = this.#links.get(id);
    if (link === undefined) this.#links.set(id, (link = new Link(this, id, `service ${JSON.stringify(name)}`, subject, name)));
    return link;
  }

  expect<T>(link: Link, timeoutMs: number, about: AskSubject, type = ''): { corr: number; promise: Promise<T> } {
    return this.#expect<T>(link, timeoutMs, about, type);
  }

  abortWith(corr: number, promise: Promise<unknown>, signal: AbortSignal | undefined): void {
    this.#node.asks.abortWith(corr, promise, signal);
  }

  answer(systemId: string, nodeName: string, corr: number, ok: boolean, value: unknown): void {
    this.#answer(systemId, nodeName, corr, ok, value);
  }

  deadLetter(recipient: string, type: string, payload: unknown, reason: DeadLetterReason): void {
    this.#deadLetter(recipient, type, payload, reason);
  }

  deadLetterFor(recipient: string, type: string, payload: unknown, error: unknown): void {
    this.#deadLetter(recipient, type, payload, reasonOf(error));
  }

  // ---- InboxHost (inbox.ts) ---------------------------------------------------------------------

  push(systemId: string, nodeName: string, call: Call): void {
    this.#linkTo({ systemId, nodeName })?.push(call);
  }

  settle(systemId: string, corr: number, ok: boolean, value: unknown): void {
    // Only an answer to a call this node made of that node (or of a service, which any of its nodes may answer).
    const link = this.#pending.get(corr);
    if (link === undefined || (link.service === null && link.systemId !== systemId)) return;
    if (ok) this.#node.asks.resolve(corr, value);
    else this.#node.asks.reject(corr, fromWire(value as WireError));
  }

  endedThere(id: string, reason: ExitReason): void {
    this.#endedThere(id, reason);
  }

  // ---- RefHost: the remote refs of main --------------------------------------------------------

  idOf(key: number): string {
    return this.#node.idOf(key);
  }

  refFor(thread: number, key: number): ActorRefImpl {
    return this.#node.refFor(thread, key);
  }

  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined): void {
    checkCall(type, payload);
    const remote = ref as RemoteRefImpl;
    const link = this.#linkTo(remote);
    if (link === null) {
      this.#deadLetter(remote.id, type, payload, 'node-down');
      return;
    }
    link.push([Entry.Tell, remote.thread, remote.key, type, payload, wireOptions(options)]);
  }

  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    return this.#call(Entry.Send, ref as RemoteRefImpl, type, payload, options) as Promise<SendResult>;
  }

  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    return this.#call(Entry.Ask, ref as RemoteRefImpl, type, payload, options);
  }

  /**
   * A call of `link`'s node that waits for an answer: its correlation id (in main's ask table,
   * timed out there) and promise. Until it settles, an answer for it is taken from any node (a
   * service's batch may be answered by any of its nodes); when its link is cut off, it fails.
   */
  #expect<T>(link: Link, timeoutMs: number, about: AskSubject, type = ''): { corr: number; promise: Promise<T> } {
    const opened = this.#node.asks.open<T>(timeoutMs, about, -1, type);
    const corr = opened.corr;
    link.waiting.add(corr);
    this.#pending.set(corr, link);
    const done = (): void => {
      link.waiting.delete(corr);
      this.#pending.delete(corr);
    };
    opened.promise.then(done, done);
    return opened;
  }

  #call(kind: Entry.Ask | Entry.Send, ref: RemoteRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    try {
      checkCall(type, payload);
      const signal = checkSignal(options?.signal);
      if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
      const link = this.#linkTo(ref);
      if (link === null) return Promise.reject(new NodeDownError(`node ${ref.nodeName} of actor ${ref.describe()} is gone`));
      // An ask times out here as it would anywhere. A send waits for room there as long as its own
      // timeout says, and that node answers then (this timer comes a second later); without one,
      // it gives up after UNANSWERED_MS, should its answer be lost on the way (a NATS failover).
      const timeoutMs = kind === Entry.Ask ? (options?.timeoutMs ?? this.#node.askTimeoutMs) : options?.timeoutMs !== undefined ? options.timeoutMs + 1000 : UNANSWERED_MS;
      const { corr, promise } = this.#expect<unknown>(link, timeoutMs, ref, type);
      this.#node.asks.abortWith(corr, promise, signal);
      link.push([kind, corr, ref.thread, ref.key, type, payload, wireOptions(options)]);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The actor registered as `name` on node `member` (null if none there, or if the node is gone). */
  lookupOn(member: { readonly id: string; readonly name: string }, name: string): Promise<ActorRefImpl | null> {
    const link = this.#linkTo({ systemId: member.id, nodeName: member.name });
    if (link === null) return Promise.resolve(null);
    const { corr, promise } = this.#expect<ActorRefImpl | null>(link, this.#node.askTimeoutMs, () => `lookup of ${JSON.stringify(name)} on node ${member.name}`);
    link.push([Entry.Lookup, corr, name]);
    return promise.catch(() => null);
  }

  /**
   * Starts an actor of `definition` on node `member` (found there by the definition's name);
   * resolves with its ref once it has started there.
   */
  spawnOn(member: { readonly id: string; readonly name: string }, definition: AnyDefinition, args: unknown, options: SpawnOptions): Promise<ActorRefImpl> {
    try {
      checkPayload(args, 'args');
      checkPayload(options, 'options');
      const link = this.#linkTo({ systemId: member.id, nodeName: member.name });
      if (link === null) return Promise.reject(new NodeDownError(`node ${member.name} is gone`));
      const { corr, promise } = this.#expect<ActorRefImpl>(link, this.#node.askTimeoutMs, () => `start of ${definition.name} on node ${member.name}`);
      link.push([Entry.Spawn, corr, definition.name, args, options]);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ---- CrossNodePort: what workers hand to main ------------------------------------------------

  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): void {
    checkCall(type, payload);
    if (this.#lost) {
      // Cut off from the other nodes: this node's groups get their copy here, as without a cluster.
      this.#node.topics.deliverToGroups(topic, type, payload, options);
      return;
    }
    this.#topics.publish(topic, type, payload, wireOptions(options));
  }

  entity(address: EntityAddress, kind: 'tell' | 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined, source: SourceMark | null): Promise<unknown> | undefined {
    const router = this.entities;
    if (router === null) throw new NodeDownError('this node has not read the shard directory yet');
    return router.call(address, kind, type, payload, options, source);
  }

  shardsDone(from: number, corr: number): void {
    this.entities?.done(from, corr);
  }

  shardsWanted(from: number): void {
    this.entities?.wanted(from);
  }

  linkToMember(member: { readonly id: string; readonly name: string }): Link | null {
    return this.#linkTo({ systemId: member.id, nodeName: member.name });
  }

  isGone(id: string): boolean {
    return this.#gone.has(id);
  }

  service(name: string, kind: 'tell' | 'ask' | 'send', type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> | undefined {
    return this.services.call(name, kind === 'tell' ? ServiceCall.Tell : kind === 'ask' ? ServiceCall.Ask : ServiceCall.Send, type, payload, options);
  }

  stop(ref: ActorRefImpl, mode: StopMode): Promise<void> {
    const remote = ref as RemoteRefImpl;
    const link = this.#linkTo(remote);
    if (link === null) return Promise.reject(new NodeDownError(`node ${remote.nodeName} of actor ${remote.describe()} is gone`));
    const { corr, promise } = this.#expect<void>(link, UNANSWERED_MS, () => `stop of ${remote.describe()}`);
    link.push([Entry.Stop, corr, remote.thread, remote.key, mode]);
    return promise;
  }

  fromWorker(from: number, call: CrossNodeCall): void {
    const [kind, corr, ref, type, payload, options] = call;
    if (kind === 'stop') {
      this.stop(ref, type as StopMode).then(
        () => this.#node.control(from, answerRecord(corr, true, undefined)),
        (error: unknown) => this.#node.control(from, answerRecord(corr, false, error)),
      );
      return;
    }
    const given = (options ?? undefined) as AskOptions | undefined;
    if (kind === 'tell') {
      try {
        this.tell(ref, type, payload, given);
      } catch (error) {
        this.#logger.warn(`cluster: a worker's tell to ${ref.describe()} failed: ${(error as Error).message}`);
      }
      return;
    }
    const outcome = kind === 'ask' ? this.ask(ref, type, payload, given) : this.send(ref, type, payload, given);
    outcome.then(
      (value) => this.#node.control(from, answerRecord(corr, true, value)),
      (error: unknown) => this.#node.control(from, answerRecord(corr, false, error)),
    );
  }

  answered(): void {}

  watch(ref: ActorRefImpl, watcherThread: number, watcherKey: number, alias: number, on: boolean): void {
    const remote = ref as RemoteRefImpl;
    const watcher = `${watcherThread}:${watcherKey}`;
    let entry = this.#watched.get(remote.id);
    if (!on) {
      if (entry === undefined || !entry.watchers.delete(watcher) || entry.watchers.size > 0) return;
      this.#watched.delete(remote.id);
      this.#linkTo(remote)?.push([Entry.Unwatch, remote.thread, remote.key]);
      return;
    }
    if (entry === undefined) {
      const link = this.#linkTo(remote);
      if (link === null) {
        this.#terminated(watcherThread, watcherKey, alias, 'node-down');
        return;
      }
      entry = { ref: remote, watchers: new Map() };
      this.#watched.set(remote.id, entry);
      link.push([Entry.Watch, remote.thread, remote.key]);
    }
    entry.watchers.set(watcher, [watcherThread, watcherKey, alias]);
  }

  threadGone(thread: number): void {
    this.entities?.threadGone(thread);
    for (const [id, entry] of [...this.#watched]) {
      for (const [watcher, [t]] of [...entry.watchers]) if (t === thread) entry.watchers.delete(watcher);
      if (entry.watchers.size > 0) continue;
      this.#watched.delete(id);
      this.#linkTo(entry.ref)?.push([Entry.Unwatch, entry.ref.thread, entry.ref.key]);
    }
  }

  /** Tells a watcher here that the actor of another node it watched (as `alias`) ended. */
  #terminated(thread: number, key: number, alias: number, reason: ExitReason): void {
    if (thread === 0) this.#node.deathWatch.remoteEnded(key, alias, reason);
    else this.#node.control(thread, ['xn-terminated', key, alias, reason]);
  }

  /** The watched actor `id` ended: every watcher here hears it, once. */
  #endedThere(id: string, reason: ExitReason): void {
    const entry = this.#watched.get(id);
    if (entry === undefined) return;
    this.#watched.delete(id);
    for (const [thread, key, alias] of entry.watchers.values()) this.#terminated(thread, key, alias, reason);
  }

  // ---- LinkHost --------------------------------------------------------------------------------

  async request(subject: string, bytes: Uint8Array): Promise<void> {
    const reply = await this.#nc.request(subject, bytes, { timeout: REQUEST_TIMEOUT_MS });
    if (reply.data.length > 0) throw new Error(`node refused the batch: ${new TextDecoder().decode(reply.data)}`);
  }

  post(subject: string, bytes: Uint8Array): void {
    try {
      this.#nc.publish(subject, bytes);
    } catch (error) {
      this.#logger.warn(`cluster: answers to another node were lost: ${(error as Error).message}`);
    }
  }

  failed(link: Link, calls: Call[], error: Error, gone: boolean): void {
    if (link.gone) return; // its calls failed with it
    if (gone && link.service !== null) {
      // No node serves it now: these calls (and only these: other batches may be on their way to
      // a node that is draining its pool) fail as for a local pool with no members.
      this.#fail(link, calls, new ActorStoppedError(`no node serves a pool named ${JSON.stringify(link.service)}`));
      return;
    }
    if (gone) {
      // No one reads the node's inbox now: these calls did not arrive, and what waits for an answer
      // from it will not have one (it died, or its connection is moving); batches still on their
      // way settle by themselves. The next call tries again; only the membership declares it gone.
      this.#logger.warn(`cluster: node ${link.nodeName} (${link.systemId}) received nothing: no one reads its inbox now`);
      const down = new NodeDownError(`node ${link.nodeName} cannot be reached (no one reads its inbox)`);
      const notSent = new NodeDownError(down.message);
      undelivered.add(notSent); // these calls did not arrive: one to an entity goes to its shard's next owner
      // A tell to an entity goes again at once (the ask or send of one, through its rejection).
      const again = this.entities === null ? calls : calls.filter((call) => !(call[0] === Entry.ToEntity && call[1] === ServiceCall.Tell && this.entities!.again(call, { id: link.systemId, name: link.nodeName })));
      this.#fail(link, again, notSent);
      for (const corr of [...link.waiting]) this.#node.asks.reject(corr, down);
      link.waiting.clear();
      return;
    }
    // Too large: each caller hears it. Anything else (a timeout, a batch refused): what became of
    // the batch is unknown, and the node did not take it when asked: for its callers, it could
    // not be reached (NodeDownError; its tells node-down dead letters).
    if (error instanceof MessageTooLargeError) {
      this.#fail(link, calls, error);
      return;
    }
    this.#logger.error(`cluster: ${calls.length} message(s) to node ${link.nodeName} may not have arrived: ${error.message}`);
    this.#fail(link, calls, new NodeDownError(`node ${link.nodeName} did not take the message (it may have handled it): ${error.message}`, { cause: error }));
  }

  /**
   * The link to a node the membership declared gone, or that this node's closed connection cut
   * off: everything queued, sent and not yet taken, or waiting for an answer fails with `error`
   * (what was sent may have been handled before the node went: no answer will say).
   */
  #cutOff(link: Link, calls: Call[], error: Error): void {
    link.gone = true;
    if (this.#links.get(link.systemId) === link) this.#links.delete(link.systemId);
    this.#fail(link, [...calls, ...link.drop()], error);
    for (const corr of [...link.waiting]) this.#node.asks.reject(corr, error);
    link.waiting.clear();
  }

  // ---- membership ------------------------------------------------------------------------------

  /**
   * The membership declared node `id` gone (it left, stopped heartbeating, or started again): what
   * waits for it fails now, and so will what is sent to it from now on; its actors' watchers here
   * hear `node-down`, and its watches of actors here end.
   */
  nodeGone(id: string): void {
    if (!this.#gone.has(id)) {
      for (const [watchedId, entry] of [...this.#watched]) if (entry.ref.systemId === id) this.#endedThere(watchedId, 'node-down');
      this.#reader.nodeGone(id);
    }
    this.#gone.set(id, Date.now());
    const link = this.#links.get(id);
    if (link !== undefined) this.#cutOff(link, [], new NodeDownError(`node ${link.nodeName} is gone`));
  }

  /** The membership (re)admits node `id`: calls to it go again. */
  nodeBack(id: string): void {
    this.#gone.delete(id);
    this.#reader.nodeBack(id);
  }

  /** The NATS connection closed for good: no other node can be reached any more. */
  connectionLost(): void {
    this.#lost = true;
    for (const link of [...this.#links.values()]) this.#cutOff(link, [], new NodeDownError(`node ${link.nodeName} cannot be reached: this node's NATS connection is closed`));
  }

  /** Nodes with calls waiting for an answer: each is sent a ping, which fails at once if no one is there. */
  probe(): void {
    for (const link of this.#links.values()) if (link.waiting.size > 0 || link.inFlight > 0) link.ping();
    const old = Date.now() - 3_600_000;
    for (const [id, at] of this.#gone) if (at < old) this.#gone.delete(id);
  }

  /** Sends what is queued and waits (up to `timeoutMs`) for the other nodes to take it; then stops reading. */
  async close(timeoutMs: number): Promise<void> {
    const links = [...this.#links.values()];
    for (const link of links) link.flush();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(links.map((l) => l.whenIdle())), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.#inbox?.unsubscribe();
    this.#topics.close();
    await this.services.close(0);
  }

  #linkTo(ref: Pick<RemoteRefImpl, 'systemId' | 'nodeName'>): Link | null {
    const link = this.#links.get(ref.systemId);
    if (link !== undefined) return link;
    if (this.#lost || this.#gone.has(ref.systemId)) return null;
    const made = new Link(this, ref.systemId, ref.nodeName, this.#prefix + ref.systemId);
    this.#links.set(ref.systemId, made);
    return made;
  }

  /** Calls that will not reach their node: tells dead-lettered, asks and sends rejected. */
  #fail(link: Link, calls: Call[], error: Error): void {
    for (const call of calls) {
      switch (call[0]) {
        case Entry.Tell:
          this.#deadLetter(`${link.systemId}.${call[2].toString(36)}`, call[3], call[4], reasonOfFailure(error));
          break;
        case Entry.ToService:
          if (call[1] === ServiceCall.Tell) this.#deadLetter(serviceRecipient(call[3]), call[4], call[5], reasonOfFailure(error));
          else this.#node.asks.reject(call[2], error);
          break;
        case Entry.ToEntity:
          if (call[1] === ServiceCall.Tell) this.#deadLetter(`${call[3]}/${call[4]}`, call[5], call[6], reasonOfFailure(error));
          else {
            link.waiting.delete(call[2]);
            this.#node.asks.reject(call[2], error);
          }
          break;
        case Entry.Ask:
        case Entry.Send:
        case Entry.Lookup:
        case Entry.Spawn:
        case Entry.Stop:
          link.waiting.delete(call[1]);
          this.#node.asks.reject(call[1], error);
          break;
        case Entry.Answer:
          // An answer that cannot go (too large): the asker hears why instead of timing out.
          if (call[2] && !(error instanceof NodeDownError)) link.push([Entry.Answer, call[1], false, toWire(error)]);
          else this.#logger.warn(`cluster: an answer to node ${link.nodeName} was lost: ${error.message}`);
          break;
        default:
          break;
      }
    }
  }

  /** A message accepted here that will not be handled: counted in and out, so the books balance. */
  #deadLetter(recipient: string, type: string, payload: unknown, reason: DeadLetterReason): void {
    this.#node.runtime.counters[STAT_ACCEPTED]!++;
    this.#node.deadLetters.recordTo(new Envelope(EnvelopeKind.Tell, type, payload, 0, 0, 0), recipient, reason);
  }

  /** The link to a node that sent this one something (known by its system id and name), or null if it is gone. */
  #to(systemId: string, nodeName: string): Link | null {
    return this.#linkTo({ systemId, nodeName });
  }

  #answer(systemId: string, nodeName: string, corr: number, ok: boolean, value: unknown): void {
    if (this.#gone.has(systemId)) return; // the asker's node is gone: no one waits
    if (ok) {
      try {
        checkPayload(value, 'reply');
      } catch (error) {
        ok = false; // a reply that cannot travel: the asker hears why, as it would from another thread
        value = toWire(error);
      }
    }
    this.#to(systemId, nodeName)?.push([Entry.Answer, corr, ok, value]);
  }
}

/** Why a call that did not reach its node or service is a dead letter. */
function reasonOfFailure(error: Error): DeadLetterReason {
  if (error instanceof NodeDownError) return 'node-down';
  if (error instanceof MessageTooLargeError) return 'too-large';
  if (error instanceof ActorStoppedError) return 'no-routee'; // no node serves the service
  return 'decode-failed';
}
