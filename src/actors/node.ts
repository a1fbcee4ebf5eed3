// The actor host of one thread: the registry of the cells it runs, spawn, tell and ask, replies,
// and stopping. Same-thread messages are a push onto the target's queue; messages to other
// threads become records on the ring to that thread. The rest of a host lives in rooms of its
// own that this file wires together: inbound records, control records, dead letters, death
// watch, links, topics, the send queue, arrivals, and recovery from a thread's death.

import {
  ActorFailedError,
  ActorInitializationError,
  ActorStoppedError,
  MailboxFullError,
  OffloadError,
  ShuttingDownError,
  UnhandledMessageError,
  toWire,
} from '../errors.js';
import { MailboxBounds, Admit } from '../runtime/bounds-table.js';
import type { Clock } from '../runtime/clock.js';
import type { MessagePort } from 'node:worker_threads';
import type { ActorInfo, DeathNotice, PeerRecovery } from '../runtime/control.js';
import { ControlBlock } from '../runtime/control-block.js';
import { RecordKind, STAT_ACCEPTED, STAT_DUPLICATES, STAT_FAILED, STAT_HANDLED, STAT_REJECTED, STAT_SPAWN_SEQ } from '../runtime/layout.js';
import { loadModule } from '../runtime/module-loader.js';
import { OffloadPool } from '../runtime/offload.js';
import type { ThreadRuntime } from '../runtime/thread-runtime.js';
import { invalid, validateNumber } from '../validate.js';
import { ActorRefImpl } from './actor-ref.js';
import { Arrivals, type NodeRecovery } from './arrivals.js';
import { AskTable } from './ask.js';
import { Cell, type CellHost } from './cell.js';
import { Context } from './context.js';
import { dispatchControl, type ControlHost } from './control-records.js';
import { DeadLetters } from './dead-letters.js';
import { DeathWatch } from './death-watch.js';
import { isDefinition, lookupDefinition } from './define.js';
import { Envelope, EnvelopeKind, QUIET, STARTED } from './envelope.js';
import { Handover, type HandoverHost } from './recovery/handover.js';
import { InboundRecords, type InboundHost } from './inbound-records.js';
import { Links } from './links.js';
import { priorityOf } from './mailbox.js';
import { placeActor } from './placement-options.js';
import { DEFAULT_POLICY, resolvePolicy } from './policy.js';
import type { Pool, PoolHost } from './pool.js';
import { RemoteSpawns, type SpawnRecord, type SpawnerHost } from './recovery/remote-spawns.js';
import { predecessorGone, threadDown, type RecoveryHost } from './recovery/thread-down.js';
import { SendQueue } from './send-queue.js';
import { SupervisionWire, type SupervisionHost } from './supervision-wire.js';
import { Topics } from './topics.js';
import type { AnyDefinition, AskOptions, DeadLetterReason, MessageOptions, ResourceLimits, SendOptions, SendResult, SpawnOptions } from './types.js';
import { KEY_SPAN, WIRE_MESSAGE_ID, WIRE_RECEIPT, spawnerOf, type ControlRecord, type Replica, type ReplicaBatch, type Returned } from './wire.js';

const RESOLVED: Promise<void> = Promise.resolve();

export type { NodeRecovery };

export interface NodeOptions {
  readonly systemId: string;
  readonly clock: Clock;
  readonly ctl: SharedArrayBuffer;
  /** The bounded-mailbox table (bounds-table.ts), shared by every thread. */
  readonly bounds: SharedArrayBuffer;
  readonly defaultAskTimeoutMs: number;
  /** Threads in this thread's offload pool (created on first ctx.offload). */
  readonly offloadThreads: number;
  /** Set when this thread replaces one that died. */
  readonly recovery?: NodeRecovery;
  /** Worker threads that balanced placement may use (1..workers); slots above are dedicated. */
  readonly workers: number;
}

export class ActorNode implements InboundHost, ControlHost, RecoveryHost, SupervisionHost, CellHost, SpawnerHost, HandoverHost, PoolHost {
  readonly runtime: ThreadRuntime;
  readonly self: number;
  readonly threadCount: number;
  readonly clock: Clock;
  readonly asks: AskTable;
  readonly bounds: MailboxBounds;
  readonly cells = new Map<number, Cell>();
  readonly arrivals: Arrivals;
  readonly askTimeoutMs: number;
  /** The cell whose handler is running right now (for sender attribution). */
  current: Cell | null = null;
  /** Main thread only: external tells and asks are refused once shutdown begins. */
  admissionClosed = false;
  /** Messages whose async handler (at-most-once) has not settled yet, on this thread. */
  inFlight = 0;
  /** Reason given to messages that die because their actor stopped (changes during shutdown). */
  stopReason: DeadLetterReason = 'stopped';
  /** Main thread: claims a dedicated thread slot and starts its worker (set by the system). */
  onDedicated: ((limits: ResourceLimits | undefined) => number) | null = null;

  readonly deadLetters: DeadLetters;
  readonly deathWatch: DeathWatch;
  readonly links: Links;
  readonly topics: Topics;
  readonly inbound: InboundRecords;
  readonly supervision: SupervisionWire;
  /** Actors this thread spawned on other threads: restarted from here if their thread dies. */
  readonly remote: RemoteSpawns;
  /** Copies of ack-mode tells, and what pool members hand back (handover.ts). */
  readonly handover: Handover;
  readonly #sends: SendQueue;
  readonly #systemId: string;
  readonly #ctl: ControlBlock;
  /** Threads that died: nothing is sent to them any more. */
  readonly #dead: Uint8Array;
  readonly #offload: OffloadPool;
  /** Balanced placement: spawns placed on each thread in the last few ms (not in its load word yet). */
  readonly #placed: number[];
  #placedSince = 0;
  readonly #workers: number;
  #seq = 0;

  constructor(runtime: ThreadRuntime, options: NodeOptions) {
    this.runtime = runtime;
    this.self = runtime.self;
    this.threadCount = runtime.threadCount;
    this.clock = options.clock;
    this.asks = new AskTable(options.clock);
    this.bounds = new MailboxBounds(options.bounds, runtime.threadCount, KEY_SPAN);
    this.askTimeoutMs = options.defaultAskTimeoutMs;
    this.#systemId = options.systemId;
    this.#ctl = new ControlBlock(options.ctl);
    this.#dead = new Uint8Array(this.threadCount);
    this.#offload = new OffloadPool(options.offloadThreads);
    this.#workers = options.workers;
    this.#placed = new Array<number>(this.threadCount).fill(0);
    this.arrivals = new Arrivals(this.self, this.threadCount, options.recovery);
    this.deadLetters = new DeadLetters(this.self, runtime, this.clock, this.#ctl, (key) => this.idOf(key));
    this.deathWatch = new DeathWatch(this);
    this.links = new Links(this);
    this.topics = new Topics(this);
    this.inbound = new InboundRecords(this);
    this.supervision = new SupervisionWire(this);
    this.remote = new RemoteSpawns(this);
    this.handover = new Handover(this);
    this.#sends = new SendQueue(this);
    runtime.beforeFlush = () => {
      if (this.handover.hasCopiesToSend) this.handover.flush();
    };
    // Copies of what a pass took from the rings are published before any handler runs: a handler
    // that ends the thread cannot take them down with it.
    runtime.afterDrain = () => {
      if (this.handover.hasCopiesToSend) this.runtime.flush();
    };
    if (options.recovery !== undefined) {
      this.#seq = this.arrivals.seqBase;
      this.runtime.counters[STAT_SPAWN_SEQ] = this.#seq;
    }
  }

  async offload(url: string, input: unknown, name = 'default'): Promise<unknown> {
    try {
      if (typeof url !== 'string' || !/^(file|data):/.test(url)) throw invalid('offload(taskModuleUrl)', 'a file: URL', url);
      return await this.#offload.run(url, name, input);
    } catch (error) {
      if (error instanceof Error && (error as { code?: string }).code === 'ERR_INVALID_ARGUMENT') throw error;
      throw new OffloadError(`offloaded task ${name} of ${String(url)} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Ends this thread's offload pool (at shutdown). */
  closeOffload(): Promise<void> {
    return this.#offload.close();
  }

  isDead(thread: number): boolean {
    return this.#dead[thread] === 1;
  }

  /** Marks `thread` dead for good: nothing more is sent to it. */
  markDead(thread: number): void {
    this.#dead[thread] = 1;
  }

  get spawnSeq(): number {
    return this.#seq;
  }

  idOf(key: number): string {
    return `${this.#systemId}.${key.toString(36)}`;
  }

  refFor(thread: number, key: number): ActorRefImpl {
    return new ActorRefImpl(this, thread, key);
  }

  cellOf(key: number): Cell | undefined {
    return this.cells.get(key);
  }

  newContext(cell: Cell): Context {
    return new Context(cell, this);
  }

  /** What inspect() reports for each actor hosted here. */
  describe(): ActorInfo[] {
    return [...this.cells.values()].map((cell) => ({
      id: this.idOf(cell.key),
      thread: this.self,
      status: cell.status,
      mailboxDepth: cell.depth,
      handled: cell.handled,
      failed: cell.failed,
      restarts: cell.restartCount,
      watchers: cell.watchers?.size ?? 0,
    }));
  }

  /** A control notice to another thread; a dead thread gets none (nothing there can act on it). */
  control(thread: number, record: ControlRecord): void {
    if (this.#dead[thread] === 1) return;
    this.runtime.send(thread, RecordKind.Control, 0, 0, 0, 0, record);
  }

  onControl(from: number, record: ControlRecord): void {
    dispatchControl(this, from, record);
  }

  /** Thread `thread` died (see recovery/thread-down.ts); with `ports`, a replacement takes its place. */
  threadDown(thread: number, death: DeathNotice, ports: { bigOut: MessagePort; bigIn: MessagePort } | null = null): PeerRecovery | null {
    return threadDown(this, thread, death, ports);
  }

  predecessorGone(key: number): void {
    predecessorGone(this, key);
  }

  // ---- spawn ----------------------------------------------------------------------------------

  /** `routeeOf`: a pool member's pool ([thread, id]). */
  spawn(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: Cell | null, routeeOf: readonly [number, number] | null = null): ActorRefImpl {
    if (!isDefinition(definition)) throw invalid('spawn(definition)', 'a definition made by defineActor', definition);
    let policy = resolvePolicy(options);
    if (routeeOf !== null) policy = { ...policy, routeeOf };
    const thread = placeActor(options?.placement, parent !== null, options?.resourceLimits, {
      self: this.self,
      threads: this.#workers + 1,
      isDead: (t) => this.#dead[t] === 1,
      balanced: () => this.#balanced(),
      dedicated: this.onDedicated,
    });
    if (policy.supervision?.decide != null && thread !== this.self) {
      throw invalid('options.supervision.decide', "a function on the actor's own thread (for one placed elsewhere, put supervision in its definition)", policy.supervision.decide);
    }
    // Under a supervising parent, failures are reported to the parent instead of handled locally.
    if (parent !== null && parent.supervisor !== null) policy = { ...policy, supervised: true };
    let seq = ++this.#seq;
    let entry = -1;
    const mailbox = policy.mailbox;
    if (mailbox !== null && mailbox.overflow !== 'drop-oldest') {
      // Claim this spawner's bounds entry for the actor's seq, skipping numbers whose entry is held.
      for (let tries = 1; (entry = this.bounds.claim(this.self, seq, mailbox.capacity, thread)) < 0; tries++) {
        if (tries >= this.bounds.slotsPerThread) {
          throw invalid('options.mailbox', `room in the bounded-mailbox table (${this.bounds.slotsPerThread} live per spawning thread: raise the system's boundedMailboxes)`, mailbox);
        }
        seq = ++this.#seq;
      }
    }
    const key = seq * KEY_SPAN + this.self;
    this.runtime.counters[STAT_SPAWN_SEQ] = seq;
    const parentThread = parent === null ? 0 : this.self;
    const parentKey = parent === null ? 0 : parent.key;
    const ref = this.refFor(thread, key);
    if (thread === this.self) {
      const cell = new Cell(this, key, definition, args, parentThread, parentKey, policy);
      this.cells.set(key, cell);
      cell.schedule();
      ref.cell = cell;
    } else {
      const record: SpawnRecord = [definition.moduleUrl, definition.name, args, parentThread, parentKey, policy === DEFAULT_POLICY ? null : policy];
      try {
        this.runtime.send(thread, RecordKind.Spawn, 0, key, parentKey, 0, record);
      } catch (error) {
        if (entry >= 0) this.bounds.free(entry);
        throw error;
      }
      this.remote.add(key, thread, record);
    }
    if (parent !== null) (parent.children ??= new Map()).set(key, thread);
    return ref;
  }

  /**
   * spawn(), then resolves with the ref once the actor's init and onStart have completed (an ask
   * that the runtime answers when the actor runs its first message); rejects with its
   * ActorInitializationError if they fail.
   */
  start(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: Cell | null): Promise<ActorRefImpl> {
    try {
      return this.whenStarted(this.spawn(definition, args, options, parent));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves with `ref` once its actor has started (messages wait until it has). */
  whenStarted(ref: ActorRefImpl): Promise<ActorRefImpl> {
    return this.ask(ref, STARTED, undefined, undefined).then(() => ref);
  }

  /** Power of two choices over the workers' loads (main hosts only what is placed there). */
  #balanced(): number {
    const a = this.#liveWorker();
    const b = this.#liveWorker();
    const pick = this.#load(a) <= this.#load(b) ? a : b;
    this.#placed[pick]!++;
    return pick;
  }

  /** A random worker that is alive (main if none is). */
  #liveWorker(): number {
    const workers = this.#workers;
    const start = Math.floor(Math.random() * workers);
    for (let k = 0; k < workers; k++) {
      const t = 1 + ((start + k) % workers);
      if (this.#dead[t] === 0) return t;
    }
    return 0;
  }

  #load(thread: number): number {
    // Spawns placed here recently may not show in the target's load word yet: count them too,
    // for a few milliseconds, so that a burst of spawns spreads instead of piling on one thread.
    const now = this.clock.now();
    if (now - this.#placedSince > 10) {
      this.#placed.fill(0);
      this.#placedSince = now;
    }
    return this.#ctl.actors(thread) + this.#ctl.load(thread) + this.#placed[thread]!;
  }

  /** Another thread spawned an actor here (or restarts one here after its thread died). */
  spawnFromRecord(from: number, key: number, record: SpawnRecord): void {
    const [moduleUrl, name, args, parentThread, parentKey, sentPolicy, seen] = record;
    const { messages, watchers } = this.arrivals.spawned(from, key);
    const cell = new Cell(this, key, lookupDefinition(moduleUrl, name) ?? null, args, parentThread === 0 && parentKey === 0 ? 0 : from, parentKey, sentPolicy ?? DEFAULT_POLICY);
    if (seen !== undefined) cell.rememberSeen(seen);
    this.cells.set(key, cell);
    if (messages !== undefined) for (const env of messages) cell.enqueue(env);
    if (watchers !== undefined) cell.watchers = watchers;
    if (cell.definition !== null) {
      cell.schedule();
      return;
    }
    loadModule(moduleUrl).then(
      () => {
        const definition = lookupDefinition(moduleUrl, name);
        if (definition === undefined) {
          this.startFailed(cell, new Error(`no actor named ${JSON.stringify(name)} is defined in ${moduleUrl}`));
          return;
        }
        cell.definition = definition;
        cell.schedule();
      },
      (error: unknown) => this.startFailed(cell, new Error(`cannot load ${moduleUrl}`, { cause: error })),
    );
  }

  /** A first start failed: the actor stops; what was sent to it is answered or dead-lettered. */
  startFailed(cell: Cell, error: Error): void {
    const failure = new ActorInitializationError(`actor ${this.idOf(cell.key)} failed to start: ${error.message}`, { cause: error });
    cell.exitReason = 'failed';
    void (cell.stopping ??= this.#finishStop(cell, failure));
  }

  // ---- sending --------------------------------------------------------------------------------

  admit(ref: ActorRefImpl): void {
    if (this.admissionClosed && this.current === null) throw shuttingDown();
    if (this.#dead[ref.thread] === 1) throw new ActorStoppedError(`actor ${ref.id} was on thread ${ref.thread}, which died`);
    if (ref.thread !== this.self && this.runtime.isCongested(ref.thread)) {
      throw new MailboxFullError(`thread ${ref.thread} is not keeping up: messages to it are past the high-water mark`);
    }
  }

  /** `receipt`: a correlation id for the receiving thread to confirm the message with (send with a messageId). */
  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined, receipt = 0): void {
    if (typeof type !== 'string') throw invalid('tell(type)', 'a message type string', type);
    let priority = 0;
    let messageId: string | undefined;
    if (options !== undefined) {
      priority = priorityOf(options);
      messageId = options.messageId;
      if (messageId !== undefined && typeof messageId !== 'string') throw invalid('options.messageId', 'a string', messageId);
    }
    if (this.deadLetters.inListener) priority |= QUIET;
    if (ref.thread === this.self) this.#tellLocal(ref, type, payload, priority, messageId);
    else this.#tellRemote(ref, type, payload, priority, messageId, receipt);
    this.runtime.counters[STAT_ACCEPTED]!++;
  }

  /** Same thread: no ring, no dead thread, no congestion; only admission can refuse. */
  #tellLocal(ref: ActorRefImpl, type: string, payload: unknown, priority: number, messageId: string | undefined): void {
    const sender = this.current;
    if (sender === null && this.admissionClosed) throw shuttingDown();
    // Keys are never reused, so a ref may keep the cell it found: no map lookup per tell.
    const cell = (ref.cell ??= this.cells.get(ref.key) ?? null) as Cell | null;
    if (cell === null || cell.ending) throw new ActorStoppedError(`actor ${ref.id} is stopped`);
    if (cell.queue !== null && cell.queue.entry >= 0) this.#takeRoom(cell.queue.entry, ref);
    if (priority === 0 && messageId === undefined) cell.tell(type, payload, this.self, sender === null ? 0 : sender.key);
    else cell.enqueue(new Envelope(EnvelopeKind.Tell, type, payload, this.self, sender === null ? 0 : sender.key, 0, priority, messageId));
  }

  /** Takes room in a bounded mailbox for one message, or throws MailboxFullError. */
  #takeRoom(entry: number, ref: ActorRefImpl): void {
    if (this.bounds.tryAcquire(entry, ref.key) === Admit.Full) {
      this.runtime.counters[STAT_REJECTED]!++;
      throw new MailboxFullError(`the mailbox of actor ${ref.id} is full`);
    }
  }

  #tellRemote(ref: ActorRefImpl, type: string, payload: unknown, priority: number, messageId: string | undefined, receipt: number): void {
    this.admit(ref);
    if (messageId !== undefined) {
      // The id rides with the payload; a priority bit tells the host to unwrap it.
      payload = [messageId, payload];
      priority |= WIRE_MESSAGE_ID;
      if (receipt !== 0) priority |= WIRE_RECEIPT;
    }
    const sender = this.current;
    const entry = this.bounds.entryOf(ref.key);
    if (entry < 0) {
      this.runtime.send(ref.thread, RecordKind.Tell, priority, ref.key, sender === null ? 0 : sender.key, receipt, payload, type);
      return;
    }
    this.#takeRoom(entry, ref);
    try {
      this.runtime.send(ref.thread, RecordKind.Tell, priority, ref.key, sender === null ? 0 : sender.key, receipt, payload, type);
    } catch (error) {
      this.bounds.release(entry);
      throw error;
    }
  }

  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    return this.#sends.send(ref, type, payload, options);
  }

  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    try {
      if (typeof type !== 'string') throw invalid('ask(type)', 'a message type string', type);
      const timeoutMs = options?.timeoutMs === undefined ? this.askTimeoutMs : validateNumber(options.timeoutMs, 'options.timeoutMs', 0, 2 ** 31);
      const priority = (options === undefined ? 0 : priorityOf(options)) | (this.deadLetters.inListener ? QUIET : 0);
      this.admit(ref);
      const sender = this.current;
      const senderKey = sender === null ? 0 : sender.key;
      if (ref.thread === this.self) {
        const cell = this.cells.get(ref.key);
        if (cell === undefined || cell.ending) throw new ActorStoppedError(`actor ${ref.id} is stopped`);
        if (cell.queue !== null && cell.queue.entry >= 0) this.#takeRoom(cell.queue.entry, ref);
        const { corr, promise } = this.asks.open(timeoutMs, () => `${type} to ${ref.id}`);
        cell.enqueue(new Envelope(EnvelopeKind.Ask, type, payload, this.self, senderKey, corr, priority));
        this.runtime.counters[STAT_ACCEPTED]!++;
        return promise;
      }
      const entry = this.bounds.entryOf(ref.key);
      if (entry >= 0) this.#takeRoom(entry, ref);
      const { corr, promise } = this.asks.open(timeoutMs, () => `${type} to ${ref.id}`, ref.thread);
      try {
        this.runtime.send(ref.thread, RecordKind.Ask, priority, ref.key, senderKey, corr, payload, type);
      } catch (error) {
        if (entry >= 0) this.bounds.release(entry);
        this.asks.reject(corr, error as Error);
        return promise;
      }
      this.runtime.counters[STAT_ACCEPTED]!++;
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ---- replies --------------------------------------------------------------------------------

  /** Answers an ask (nothing for a tell): on this thread at once, else through the ring. */
  reply(env: Envelope, value: unknown): void {
    if (env.kind !== EnvelopeKind.Ask) return;
    if (env.senderThread === this.self) {
      if (!this.asks.resolve(env.corr, value)) this.lateReply(env, value);
      return;
    }
    if (this.#dead[env.senderThread] === 1) {
      this.lateReply(env, value); // the asker's thread died: nobody waits for this any more
      return;
    }
    try {
      this.runtime.send(env.senderThread, RecordKind.Reply, 0, env.senderKey, 0, env.corr, value);
    } catch (error) {
      this.#replyError(env, error as Error);
    }
  }

  #replyError(env: Envelope, error: Error): void {
    if (env.senderThread === this.self) {
      if (!this.asks.reject(env.corr, error)) this.lateReply(env, error);
      return;
    }
    if (this.#dead[env.senderThread] === 1) {
      this.lateReply(env, error);
      return;
    }
    this.runtime.send(env.senderThread, RecordKind.ReplyError, 0, env.senderKey, 0, env.corr, toWire(error));
  }

  lateReply(env: Envelope, value: unknown): void {
    this.deadLetters.lateReply(env.type, value, env.senderThread, env.senderKey);
  }

  // ---- outcomes of messages (called by cells) --------------------------------------------------

  /** `n` tells handled synchronously by one cell's run. */
  handledTells(n: number): void {
    this.runtime.counters[STAT_HANDLED]! += n;
  }

  handled(env: Envelope, result: unknown): void {
    this.runtime.counters[STAT_HANDLED]!++;
    if (env.kind === EnvelopeKind.Ask) this.reply(env, result);
  }

  failed(cell: Cell, env: Envelope, error: Error): void {
    const counters = this.runtime.counters;
    counters[STAT_HANDLED]!++;
    counters[STAT_FAILED]!++;
    this.replyFailure(cell, env, error);
  }

  /** An ask whose handler failed gets the failure (a tell, nothing). */
  replyFailure(cell: Cell, env: Envelope, error: Error): void {
    if (env.kind !== EnvelopeKind.Ask) return;
    this.#replyError(env, new ActorFailedError(`actor ${this.idOf(cell.key)} failed handling ${JSON.stringify(env.type)}: ${error.message}`, { cause: error }));
  }

  /** A tell dropped by dedup: accepted, and settled as a duplicate. */
  duplicate(): void {
    this.runtime.counters[STAT_DUPLICATES]!++;
  }

  /** An attempt that failed and will be retried (or dead-lettered): a failure, not yet an outcome. */
  attemptFailed(): void {
    this.runtime.counters[STAT_FAILED]!++;
  }

  unhandled(cell: Cell, env: Envelope): void {
    this.deadLetter(env, cell.key, 'unhandled');
    if (env.kind === EnvelopeKind.Ask) {
      this.#replyError(env, new UnhandledMessageError(`actor ${this.idOf(cell.key)} has no handler for ${JSON.stringify(env.type)}`));
    }
  }

  /** A pool with no members was sent a message: accepted here, and a dead letter (no-routee). */
  noRoutee(type: string, payload: unknown): void {
    this.runtime.counters[STAT_ACCEPTED]!++;
    this.deadLetters.noRoutee(type, payload, this.current === null ? 0 : this.current.key);
  }

  /** A timer of `cell` fell due: the actor sends itself the message (counted like any tell). */
  timerFired(cell: Cell, type: string, payload: unknown): void {
    if (cell.ending) return;
    // A timer the actor set itself is never refused, but it occupies room like any message.
    if (cell.queue !== null && cell.queue.entry >= 0) this.bounds.add(cell.queue.entry);
    cell.enqueue(new Envelope(EnvelopeKind.Tell, type, payload, this.self, cell.key, 0));
    this.runtime.counters[STAT_ACCEPTED]!++;
  }

  /** An accepted message that will not be handled: one dead letter, and its ask is answered. */
  deadLetter(env: Envelope, recipientKey: number, reason: DeadLetterReason, error?: Error, deliveryCount = 1): void {
    if (env.kind === EnvelopeKind.Ask && reason !== 'unhandled') {
      this.#replyError(env, error ?? new ActorStoppedError(`actor ${this.idOf(recipientKey)} is stopped`));
    }
    this.deadLetters.record(env, recipientKey, reason, deliveryCount);
  }

  /**
   * A cell took a message id into its dedup table. If another thread spawned it, that thread
   * keeps the id too (sent before the message can have any effect), so a restart after this
   * thread dies still knows it (K7).
   */
  seen(cell: Cell, id: string, at: number): void {
    const spawner = spawnerOf(cell.key);
    if (spawner !== this.self) this.control(spawner, ['seen', cell.key, id, at]);
  }

  // ---- stopping -------------------------------------------------------------------------------

  /** Stops any actor by ref; `graceful`: after what it already accepted; `kill`: an abnormal exit. */
  stopRef(ref: ActorRefImpl, graceful = false, kill = false): Promise<void> {
    if (this.remote.isOrphan(ref.key)) {
      this.remote.gone(ref.key); // died with its thread, and now it is not to be restarted
      return RESOLVED;
    }
    if (ref.thread === this.self) {
      const cell = this.cells.get(ref.key);
      if (cell === undefined) return Promise.resolve();
      if (kill) return this.stopCell(cell, 'killed');
      if (graceful) {
        if (!cell.ending) cell.enqueue(new Envelope(EnvelopeKind.Stop, '', undefined, this.self, 0, 0));
        return cell.whenStopped();
      }
      return this.stopCell(cell, 'normal');
    }
    if (this.#dead[ref.thread] === 1) return Promise.resolve();
    const { corr, promise } = this.asks.open(0, () => `stop of ${ref.id}`, ref.thread);
    // A thread that dies before it answers settles this through threadDown(): the actor is gone.
    void promise.catch(() => undefined);
    this.runtime.send(ref.thread, RecordKind.Stop, 0, ref.key, this.current?.key ?? 0, corr, kill ? 2 : graceful ? 1 : 0);
    return promise as Promise<void>;
  }

  stopCell(cell: Cell, reason: 'normal' | 'failed' | 'shutdown' | 'killed'): Promise<void> {
    if (cell.stopping !== null) return cell.stopping;
    if (cell.status === 'stopped') return RESOLVED;
    const exit = reason === 'normal' && this.stopReason === 'shutdown' ? 'shutdown' : reason;
    // A normal exit is the default: setting it would allocate the cell's rare part for nothing.
    if (exit !== 'normal' || cell.exitReason !== 'normal') cell.exitReason = exit;
    if (!cell.busy && (cell.children === null || cell.children.size === 0) && cell.definition?.spec.onStop === undefined) {
      // Nothing to wait for: stop now, without a chain of awaits (a parent may stop thousands).
      // A second stop finds the cell 'stopped' and the same resolved promise.
      cell.status = 'stopping';
      this.#completeStop(cell, null);
      return RESOLVED;
    }
    return (cell.stopping = this.#finishStop(cell, null));
  }

  /** Stops a cell's children one at a time, newest first. */
  async stopChildren(cell: Cell): Promise<void> {
    if (cell.children === null) return;
    for (const ref of cell.childRefs().reverse()) await this.stopRef(ref);
  }

  async #finishStop(cell: Cell, initFailure: Error | null): Promise<void> {
    if (cell.status === 'stopped') return;
    const wasStarted = cell.status !== 'starting';
    cell.status = 'stopping';
    await cell.whenIdle();
    if (cell.children !== null) {
      // A start that failed undoes itself in order: the children it started stop newest first
      // (S7). Otherwise children stop in parallel.
      if (initFailure !== null) await this.stopChildren(cell);
      else await Promise.all(cell.childRefs().map((child) => this.stopRef(child)));
    }
    const onStop = cell.definition?.spec.onStop;
    if (onStop !== undefined && initFailure === null && wasStarted) {
      try {
        await onStop(cell.ctx as never);
      } catch {
        // onStop failures do not keep an actor alive.
      }
    }
    this.#completeStop(cell, initFailure);
  }

  /** The end of every stop: forget the cell, dead-letter its mailbox, tell its parent. */
  #completeStop(cell: Cell, initFailure: Error | null): void {
    cell.markStopped();
    this.cells.delete(cell.key);
    const reason = this.stopReason;
    const leftovers = cell.queue?.drain() ?? [];
    if (cell.queue !== null && cell.queue.entry >= 0) this.bounds.free(cell.queue.entry);
    // A pool member in ack mode hands its unhandled tells back to its pool, for the others (G4).
    const pooled = cell.policy.routeeOf !== null && cell.policy.delivery?.ack === true ? ([] as Returned[]) : null;
    const settle = (env: Envelope, attempt: number): void => {
      if (pooled !== null && env.kind === EnvelopeKind.Tell) {
        pooled.push([env.type, env.payload, env.priority, env.messageId ?? null, Math.max(2, attempt), env.senderThread, env.senderKey]);
      } else {
        this.deadLetter(env, cell.key, reason, initFailure ?? undefined);
      }
    };
    for (const { env, count } of cell.takeRedeliveries()) settle(env, count);
    for (const env of leftovers) {
      if (env.kind === EnvelopeKind.Stop) continue;
      if (env.kind === EnvelopeKind.Terminated) continue;
      settle(env, 1);
    }
    if (pooled !== null && pooled.length > 0) this.handover.returnToPool(cell, pooled);
    if (cell.heldReplicas) this.handover.stopped(cell); // everything it held is settled above
    this.deathWatch.ended(cell);
    this.links.signal(cell, cell.exitReason);
    this.topics.stopped(cell.key);
    this.supervision.childStopped(cell);
  }

  /**
   * The thread is closing at the end of a shutdown, and some stops were forced (a handler or
   * onStop ran past shutdownTimeoutMs): what those actors still held becomes dead letters
   * ('shutdown'), and so do the messages whose handlers never settled (by count: they are only
   * known to be running). The books stay whole.
   */
  abandonAll(): void {
    for (const cell of this.cells.values()) {
      for (const env of cell.queue?.drain() ?? []) if (env.kind === EnvelopeKind.Tell || env.kind === EnvelopeKind.Ask) this.deadLetter(env, cell.key, 'shutdown');
      for (const { env } of cell.takeRedeliveries()) this.deadLetter(env, cell.key, 'shutdown');
      const attempt = cell.currentAttempt;
      if (attempt !== null) this.deadLetter(attempt, cell.key, 'shutdown');
    }
    for (; this.inFlight > 0; this.inFlight--) this.deadLetter(new Envelope(EnvelopeKind.Tell, '', undefined, this.self, 0, 0), 0, 'shutdown');
  }

  // ---- what cells, pools and the spawner's side ask of the host ----------------------------------

  watch(watcher: Cell, ref: ActorRefImpl): void {
    this.deathWatch.watch(watcher, ref);
  }

  link(cell: Cell, ref: ActorRefImpl): void {
    this.links.link(cell, ref);
  }

  unlink(cell: Cell, ref: ActorRefImpl): void {
    this.links.unlink(cell, ref);
  }

  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): number {
    return this.topics.publish(topic, type, payload, options);
  }

  subscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    this.topics.subscribe(topic, ref, group);
  }

  unsubscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    this.topics.unsubscribe(topic, ref, group);
  }

  unwatch(watcher: Cell, ref: ActorRefImpl): void {
    this.deathWatch.unwatch(watcher, ref);
  }

  watchWith(ref: ActorRefImpl, onEnd: Parameters<DeathWatch['watchWith']>[1]): () => void {
    return this.deathWatch.watchWith(ref, onEnd);
  }

  exitSignals(cell: Cell, reason: Parameters<Links['signal']>[1]): void {
    this.links.signal(cell, reason);
  }

  reportFailure(child: Cell, error: Error, normalExit = false): void {
    this.supervision.reportFailure(child, error, normalExit);
  }

  directive(child: ActorRefImpl, verb: 'resume' | 'restart' | 'halt' | 'start'): Promise<unknown> {
    return this.supervision.directive(child, verb);
  }

  now(): number {
    return this.clock.now();
  }

  /** The thread that spawned the actor with this key. */
  spawnerOf(key: number): number {
    return spawnerOf(key);
  }

  stashOverflow(cell: Cell, env: Envelope): void {
    this.deadLetter(env, cell.key, 'restart-stash-full', new MailboxFullError(`actor ${this.idOf(cell.key)} is restarting and its stash is full`));
  }

  maxDeliveries(cell: Cell, env: Envelope, error: Error, attempts: number): void {
    const failure = new ActorFailedError(`actor ${this.idOf(cell.key)} gave up on ${JSON.stringify(env.type)} after ${attempts} attempts: ${error.message}`, { cause: error });
    this.deadLetter(env, cell.key, 'max-deliveries', failure, attempts);
  }

  deliveryTerminated(cell: Cell, env: Envelope): void {
    const attempt = cell.attempt?.count ?? 1;
    this.deadLetter(env, cell.key, 'terminated', new ActorFailedError(`actor ${this.idOf(cell.key)} ended ${JSON.stringify(env.type)} with ctx.term()`), attempt);
  }

  /** A drop-oldest mailbox was full: the message it let go is a dead letter. */
  evicted(cell: Cell, env: Envelope): void {
    this.deadLetter(env, cell.key, 'mailbox-full', new MailboxFullError(`the mailbox of actor ${this.idOf(cell.key)} is full: the oldest message of the lowest priority was dropped`));
  }

  replicates(key: number): boolean {
    return this.handover.replicates(key);
  }

  replicaHeld(cell: Cell, env: Envelope, seq: number): void {
    this.handover.held(cell, env, seq);
  }

  replicaSettled(cell: Cell, seq: number): void {
    this.handover.settled(cell, seq);
  }

  registerPool(pool: Pool): readonly [number, number] {
    return this.handover.registerPool(pool);
  }

  unregisterPool(id: number): void {
    this.handover.unregisterPool(id);
  }

  sendSpawn(thread: number, key: number, record: SpawnRecord): void {
    this.runtime.send(thread, RecordKind.Spawn, 0, key, record[4], 0, record);
  }

  sendGone(thread: number, key: number): void {
    this.control(thread, ['gone', key]);
  }

  resendReplicas(thread: number, key: number, replicas: Replica[], restarted: boolean, routeeOf: readonly [number, number] | null): void {
    this.handover.resend(thread, key, replicas, restarted, routeeOf);
  }

  sendReplicas(thread: number, batches: ReplicaBatch[]): void {
    this.control(thread, ['replicas', batches]);
  }

  sendReturned(thread: number, pool: number, from: number, returned: Returned[]): void {
    this.control(thread, ['returned', pool, from, returned]);
  }

  deadLetterOf(env: Envelope, recipientKey: number, reason: DeadLetterReason): void {
    this.deadLetter(env, recipientKey, reason);
  }
}

function shuttingDown(): ShuttingDownError {
  return new ShuttingDownError('the system is shutting down: no new messages from outside actors');
}
