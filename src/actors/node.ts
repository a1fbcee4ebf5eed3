// The actor host of one thread: the cells it runs, the refs it hands out, its pending asks, and
// the translation between ring records and mailboxes. Same-thread messages are a push onto the
// target's queue; messages to other threads become records on the ring to that thread.

import {
  ActorFailedError,
  ActorInitializationError,
  ActorStoppedError,
  MailboxFullError,
  OffloadError,
  SerializationError,
  ShuttingDownError,
  UnhandledMessageError,
  fromWire,
  toWire,
  type WireError,
} from '../errors.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { ActorInfo, DeathNotice, PeerRecovery } from '../runtime/control.js';
import {
  CTL_ACTORS,
  CTL_DL_WATCHED,
  CTL_I32,
  CTL_LOAD,
  RecordKind,
  STAT_ACCEPTED,
  STAT_DEAD_LETTERS,
  STAT_FAILED,
  STAT_HANDLED,
  STAT_OTHER_DEAD,
  STAT_REJECTED,
  STAT_DUPLICATES,
  STAT_SPAWN_SEQ,
  STAT_DL_OUTBOUND,
  STAT_DL_QUIET,
  STAT_RING_IN,
} from '../runtime/layout.js';
import { loadModule } from '../runtime/module-loader.js';
import { OffloadPool } from '../runtime/offload.js';
import { TopicTable } from './topics.js';
import { RemoteSpawns, type Replica, type SpawnRecord, type SpawnerHost } from './remote-spawns.js';
import { Handover, WIRE_REDELIVERY, type HandoverHost, type ReplicaBatch, type Returned } from './handover.js';
import type { Pool } from './pool.js';
import type { RecordHeader } from '../runtime/ring-buffer.js';
import type { InboundSink, ThreadRuntime } from '../runtime/thread-runtime.js';
import type { MessagePort } from 'node:worker_threads';
import { validateInteger, validateNumber, validateObject, validateString, invalid } from '../validate.js';
import { ActorRefImpl, checkRef } from './actor-ref.js';
import { AskTable } from './ask.js';
import { Admit, MailboxBounds } from '../runtime/bounds-table.js';
import { Cell } from './cell.js';
import { DEFAULT_POLICY, resolvePolicy } from './policy.js';
import { isDefinition, lookupDefinition } from './define.js';
import { Envelope, EnvelopeKind, QUIET, STARTED, type TerminatedNotice } from './envelope.js';
import { MAX_PRIORITY } from './mailbox.js';
import type { ExitReason, RestartType, AnyDefinition, AskOptions, DeadLetter, DeadLetterReason, MessageOptions, Placement, ResourceLimits, SendOptions, SendResult, SpawnOptions } from './types.js';

/** Actor keys: seq * KEY_SPAN + the spawning thread, so a thread can tell "not yet spawned" from "gone". */
const KEY_SPAN = 1024;
const DEFAULT_ASK_MS = 5000;
const RESOLVED: Promise<void> = Promise.resolve();
/** In a record's priority byte: the payload is [messageId, payload]. */
const WIRE_MESSAGE_ID = 0x80;
/** In a record's priority byte (with WIRE_MESSAGE_ID): answer with a receipt, corr = its id (K6). */
const WIRE_RECEIPT = 0x40;

const NOT_DUPLICATE: SendResult = Object.freeze({ duplicate: false });
const DUPLICATE: SendResult = Object.freeze({ duplicate: true });
const ACCEPTED: Promise<SendResult> = Promise.resolve(NOT_DUPLICATE);

type ControlRecord =
  | ['dl', DeadLetter]
  | ['child-stopped', number, number, number]
  | ['thread-down', number, DeathNotice]
  | ['watch', number, number] // target key, watcher key (the watcher's thread sent it)
  | ['unwatch', number, number]
  | ['terminated', number, number, ExitReason] // target key, watcher key (the target's thread sent it)
  | ['sub', string, number, number, string | null] // topic, subscriber thread, subscriber key, group
  | ['unsub', string, number, number, string | null]
  | ['unsub-all', number] // an actor that stopped: out of every topic and group
  | ['link', number, number] // target key, peer key (the peer's thread sent it)
  | ['unlink', number, number]
  | ['exit', number, number, ExitReason] // linked key, exited key (the exited one's thread sent it)
  | ['child-failed', number, number, WireError, RestartType, boolean] // parent key, child key, error, type, normal exit (the child's thread sent it)
  | ['gone', number] // an actor of a thread that died, not restarted (its spawner's thread sent it)
  | ['seen', number, string, number] // key, a message id it took, when (its host's thread sent it, to its spawner)
  | ['returned', number, number, Returned[]] // pool id, the stopped member's key, what it left (its thread sent it, to the pool's)
  | ['replicas', ReplicaBatch[]]; // copies of ack-mode tells, per actor (its host's thread sent it, to its spawner)

/** How a thread that died went: what its actors' supervisors see as the cause. */
export type ThreadDeath = DeathNotice;

interface SendWaiter {
  readonly ref: ActorRefImpl;
  readonly type: string;
  readonly payload: unknown;
  readonly options: SendOptions | undefined;
  /** The actor that called send (its sender attribution and its admission during shutdown). */
  readonly sender: Cell | null;
  readonly resolve: (result: SendResult | Promise<SendResult>) => void;
  readonly reject: (error: Error) => void;
  timer: TimerHandle | null;
}

export interface NodeOptions {
  readonly systemId: string;
  readonly clock: Clock;
  readonly ctl: SharedArrayBuffer;
  /** The bounded-mailbox table (bounds.ts), shared by every thread. */
  readonly bounds: SharedArrayBuffer;
  readonly defaultAskTimeoutMs: number;
  /** Threads in this thread's offload pool (created on first ctx.offload). */
  readonly offloadThreads: number;
  /** Set when this thread replaces one that died. */
  readonly recovery?: NodeRecovery;
  /** Worker threads that balanced placement may use (1..workers); slots above are dedicated. */
  readonly workers: number;
}

/** A replacement thread's start: what its predecessor hosted and who decides about it. */
export interface NodeRecovery {
  /** Keys of the dead thread's actors that other threads will restart here or declare gone. */
  readonly pending: readonly number[];
  /** Each thread's spawn sequence number when it learned of the death. */
  readonly lastSpawnSeq: readonly number[];
  /** The dead thread's last published spawn sequence number: keys up to it are of its life. */
  readonly seqBase: number;
}

export class ActorNode implements InboundSink, SpawnerHost, HandoverHost {
  readonly runtime: ThreadRuntime;
  readonly self: number;
  readonly clock: Clock;
  readonly asks: AskTable;
  readonly bounds: MailboxBounds;
  /** The cell whose handler is running right now (for sender attribution). */
  current: Cell | null = null;
  /** Main thread only: external tells and asks are refused once shutdown begins. */
  admissionClosed = false;
  /** Main thread only: where dead letters go. */
  onDeadLetter: ((letter: DeadLetter) => void) | null = null;
  /** Main thread: true while dead-letter listeners run (what they send is marked QUIET). */
  #inListener = false;
  /** Messages whose async handler (at-most-once) has not settled yet, on this thread. */
  inFlight = 0;
  /** Reason given to messages that die because their actor stopped (changes during shutdown). */
  stopReason: DeadLetterReason = 'stopped';

  readonly #cells = new Map<number, Cell>();
  readonly #systemId: string;
  readonly #ctl: Int32Array;
  readonly #threadCount: number;
  readonly #lastSpawnSeq: number[];
  readonly #early = new Map<number, Envelope[]>();
  readonly #earlyWatchers = new Map<number, Map<number, number>>();
  readonly #placed: number[];
  readonly #askTimeoutMs: number;
  /** Threads that died: nothing is sent to them any more. */
  readonly #dead: Uint8Array;
  readonly #offload: OffloadPool;
  readonly #workers: number;
  /** Main thread: claims a dedicated thread slot and starts its worker (set by the system). */
  onDedicated: ((limits: ResourceLimits | undefined) => number) | null = null;
  readonly #topics = new TopicTable();
  /** Watchers that are functions, not actors (a pool's members): negative watcher keys. */
  readonly #fnWatchers = new Map<number, { ref: ActorRefImpl; onEnd: (reason: ExitReason) => void }>();
  #fnWatchSeq = 0;
  /** send() calls waiting for room, per target key, first come first served. */
  readonly #waiting = new Map<number, SendWaiter[]>();
  /** Actors this thread spawned on other threads: restarted from here if their thread dies. */
  readonly #remote = new RemoteSpawns(this);
  /** Copies of ack-mode tells, and what pool members hand back (handover.ts). */
  readonly #handover = new Handover(this);
  /** A replacement thread: keys of its predecessor's actors that others will restart here or declare gone. */
  readonly #pending: Set<number> | null = null;
  /** A replacement thread: its predecessor's actors that were declared gone (not restarted). */
  readonly #gone = new Set<number>();
  /** A replacement thread: this thread's keys up to this sequence number belonged to its predecessor. */
  readonly #seqBase: number = 0;
  #seq = 0;
  #placedSince = 0;

  constructor(runtime: ThreadRuntime, options: NodeOptions) {
    this.runtime = runtime;
    this.self = runtime.self;
    this.clock = options.clock;
    this.asks = new AskTable(options.clock);
    this.bounds = new MailboxBounds(options.bounds, runtime.threadCount, KEY_SPAN);
    this.#systemId = options.systemId;
    this.#ctl = new Int32Array(options.ctl);
    this.#threadCount = runtime.threadCount;
    this.#lastSpawnSeq = new Array(this.#threadCount).fill(0);
    this.#placed = new Array(this.#threadCount).fill(0);
    this.#askTimeoutMs = options.defaultAskTimeoutMs;
    this.#dead = new Uint8Array(this.#threadCount);
    this.#offload = new OffloadPool(options.offloadThreads);
    this.#workers = options.workers;
    runtime.beforeFlush = () => {
      if (this.#handover.hasCopiesToSend) this.#handover.flush();
    };
    // Copies of what a pass took from the rings are published before any handler runs: a handler
    // that ends the thread cannot take them down with it.
    runtime.afterDrain = () => {
      if (this.#handover.hasCopiesToSend) this.runtime.flush();
    };
    const recovery = options.recovery;
    if (recovery !== undefined) {
      this.#pending = new Set(recovery.pending);
      recovery.lastSpawnSeq.forEach((seq, thread) => (this.#lastSpawnSeq[thread] = seq));
      this.#seqBase = this.#seq = recovery.seqBase;
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

  /**
   * Thread `thread` died. Asks waiting on its actors reject now (not at their timeout), actors
   * linked to them get their exit, and actors here whose parent was there stop.
   *
   * With `ports`, a replacement takes its place behind the same refs: what this thread sent
   * there and was never read stays in the ring for it, except what cannot be delivered any more
   * (dead letters, 'thread-crash'); watches of its actors are made again there; and each of its
   * actors that this thread spawned is restarted there or declared gone, as its supervisor
   * decides. Returns what the replacement needs from this thread.
   *
   * Without, the thread is gone for good: nothing more is sent to it, and what it was sent and
   * never read becomes dead letters.
   */
  threadDown(thread: number, death: ThreadDeath, ports: { bigOut: MessagePort; bigIn: MessagePort } | null = null): PeerRecovery | null {
    if (this.#dead[thread] === 1 || thread === this.self) return null;
    // Everything the dead thread wrote here first (its last copies, reports and messages).
    this.runtime.drainFrom(thread);
    const cause = Object.assign(new Error(death.message), { kind: death.kind, code: death.code });
    this.asks.rejectThread(thread, (what) => new ActorFailedError(`ask ${what} failed: its thread died`, { cause }));
    for (const cell of this.#cells.values()) {
      if (cell.links !== null) for (const ref of [...cell.links.values()]) if (ref.thread === thread) this.#exitReceived(cell, thread, ref.key, 'thread-exit');
      // Its parent died there: a child does not outlive its supervisor.
      if (cell.parentThread === thread && cell.parentKey !== 0) void this.stopCell(cell, 'shutdown');
    }
    if (ports === null) {
      this.#dead[thread] = 1;
      if (this.self === 0) this.bounds.freeHostedBy(thread);
      for (const cell of this.#cells.values()) {
        if (cell.watching === null) continue;
        for (const ref of cell.watching.values()) if (ref.thread === thread) this.#deliverTerminated(cell, thread, ref.key, 'thread-exit');
      }
      for (const [id, w] of this.#fnWatchers) if (w.ref.thread === thread) this.#fnWatchEnded(id, 'thread-exit');
      this.#remote.forgetThread(thread);
      const { lost, inRing } = this.runtime.abandon(thread);
      this.#threadCrashLetters(thread, lost, inRing);
      return null;
    }
    const { join, lost, inRing, replies } = this.runtime.recover(thread, ports.bigOut, ports.bigIn);
    this.#threadCrashLetters(thread, lost, inRing);
    // Answers to asks made by actors that died there: late replies.
    for (let n = 0; n < replies; n++) this.#lateReply(new Envelope(EnvelopeKind.Ask, 'ask', undefined, thread, 0, 0), undefined);
    // A restarted actor keeps its watchers; one that is not restarted ends their watch there.
    for (const cell of this.#cells.values()) {
      if (cell.watching === null) continue;
      for (const ref of cell.watching.values()) if (ref.thread === thread) this.#control(thread, ['watch', ref.key, cell.key]);
    }
    for (const [id, w] of this.#fnWatchers) if (w.ref.thread === thread) this.#control(thread, ['watch', w.ref.key, id]);
    return { join, replicas: this.#remote.replicaCount(thread), pending: this.#remote.orphan(thread, cause), spawnSeq: this.#seq };
  }

  /**
   * Dead letters for messages this thread sent to `thread` that its dead instance never read:
   * the first `inRing` had left this thread's custody (they were in the ring).
   */
  #threadCrashLetters(thread: number, types: readonly string[], inRing: number): void {
    this.runtime.counters[STAT_DL_OUTBOUND]! += inRing;
    for (const type of types) {
      this.runtime.counters[STAT_DEAD_LETTERS]!++;
      this.#emitDeadLetter({
        message: { type, payload: undefined },
        sender: undefined,
        recipient: `thread:${thread}`,
        reason: 'thread-crash',
        deliveryCount: 1,
        at: this.clock.now(),
      });
    }
  }

  /**
   * Main thread: `count` messages were in the custody of thread `thread` when it died (queued in
   * its mailboxes, running, or waiting to be sent): each becomes a dead letter. What they were is
   * gone with that thread's memory; only how many is known.
   */
  lostWithThread(thread: number, count: number): void {
    for (let n = 0; n < count; n++) {
      this.runtime.counters[STAT_DEAD_LETTERS]!++;
      this.#emitDeadLetter({
        message: { type: '', payload: undefined },
        sender: undefined,
        recipient: `thread:${thread}`,
        reason: 'thread-crash',
        deliveryCount: 1,
        at: this.clock.now(),
      });
    }
  }

  /**
   * A cell took a message id into its dedup table. If another thread spawned it, that thread
   * keeps the id too (sent before the message can have any effect), so a restart after this
   * thread dies still knows it (K7).
   */
  seen(cell: Cell, id: string, at: number): void {
    const spawner = cell.key % KEY_SPAN;
    if (spawner !== this.self) this.#control(spawner, ['seen', cell.key, id, at]);
  }

  get actorCount(): number {
    return this.#cells.size;
  }

  cellOf(key: number): Cell | undefined {
    return this.#cells.get(key);
  }

  sendSpawn(thread: number, key: number, record: SpawnRecord): void {
    this.runtime.send(thread, RecordKind.Spawn, 0, key, record[4], 0, record);
  }

  sendGone(thread: number, key: number): void {
    this.#control(thread, ['gone', key]);
  }

  idOf(key: number): string {
    return `${this.#systemId}.${key.toString(36)}`;
  }

  refFor(thread: number, key: number): ActorRefImpl {
    return new ActorRefImpl(this, thread, key);
  }

  cells(): IterableIterator<Cell> {
    return this.#cells.values();
  }

  /** What inspect() reports for each actor hosted here. */
  describe(): ActorInfo[] {
    return [...this.#cells.values()].map((cell) => ({
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

  // ---- spawn ----------------------------------------------------------------------------------

  /** `routeeOf`: a pool member's pool ([thread, id]). */
  spawn(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: Cell | null, routeeOf: readonly [number, number] | null = null): ActorRefImpl {
    if (!isDefinition(definition)) throw invalid('spawn(definition)', 'a definition made by defineActor', definition);
    let policy = resolvePolicy(options);
    if (routeeOf !== null) policy = { ...policy, routeeOf };
    const thread = this.#place(options?.placement, parent, options?.resourceLimits);
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
    if (thread === this.self) {
      const cell = new Cell(this, key, definition, args, parentThread, parentKey, policy);
      this.#cells.set(key, cell);
      cell.schedule();
    } else {
      const record: SpawnRecord = [definition.moduleUrl, definition.name, args, parentThread, parentKey, policy === DEFAULT_POLICY ? null : policy];
      try {
        this.runtime.send(thread, RecordKind.Spawn, 0, key, parentKey, 0, record);
      } catch (error) {
        if (entry >= 0) this.bounds.free(entry);
        throw error;
      }
      this.#remote.add(key, thread, record);
    }
    const ref = this.refFor(thread, key);
    if (thread === this.self) ref.cell = this.#cells.get(key) ?? null;
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

  #place(placement: Placement | undefined, parent: Cell | null, limits: ResourceLimits | undefined): number {
    const threads = this.#workers + 1;
    if (placement === undefined) placement = parent === null ? 'balanced' : 'local';
    if (limits !== undefined && placement !== 'dedicated') throw invalid('options.resourceLimits', "placement 'dedicated' (only a dedicated thread has limits of its own)", limits);
    if (placement === 'local') return this.self;
    if (placement === 'dedicated') {
      if (this.onDedicated === null) throw invalid('options.placement', "'dedicated' only from the main thread (its children may then live there)", placement);
      if (limits !== undefined) validateResourceLimits(limits);
      return this.onDedicated(limits);
    }
    if (placement === 'balanced') {
      if (threads === 1) return 0;
      // Power of two choices over the workers' load words (main hosts only what is placed there).
      const a = this.#liveWorker();
      const b = this.#liveWorker();
      const pick = this.#load(a) <= this.#load(b) ? a : b;
      this.#placed[pick]!++;
      return pick;
    }
    if (typeof placement === 'object' && placement !== null) {
      const thread = validateInteger(placement.thread, 'options.placement.thread', 0, threads - 1); // dedicated threads are not placed on by number
      if (this.#dead[thread] === 1) throw invalid('options.placement.thread', 'a running thread', thread);
      return thread;
    }
    throw invalid('options.placement', `'local', 'balanced' or { thread: 0..${threads - 1} }`, placement);
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
    const base = thread * CTL_I32;
    return this.#ctl[base + CTL_ACTORS]! + this.#ctl[base + CTL_LOAD]! + this.#placed[thread]!;
  }

  #spawnFromRecord(from: number, key: number, record: SpawnRecord): void {
    const [moduleUrl, name, args, parentThread, parentKey, sentPolicy, seen] = record;
    const spawnerSeq = Math.floor(key / KEY_SPAN);
    if (spawnerSeq > this.#lastSpawnSeq[from]!) this.#lastSpawnSeq[from] = spawnerSeq;
    const policy = sentPolicy ?? DEFAULT_POLICY;
    this.#pending?.delete(key);
    const cell = new Cell(this, key, lookupDefinition(moduleUrl, name) ?? null, args, parentThread === 0 && parentKey === 0 ? 0 : from, parentKey, policy);
    if (seen !== undefined) cell.rememberSeen(seen);
    this.#cells.set(key, cell);
    const early = this.#early.get(key);
    if (early !== undefined) {
      this.#early.delete(key);
      for (const env of early) cell.enqueue(env);
    }
    const watchers = this.#earlyWatchers.get(key);
    if (watchers !== undefined) {
      this.#earlyWatchers.delete(key);
      cell.watchers = watchers;
    }
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

  #admit(ref: ActorRefImpl): void {
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
    if (this.#inListener) priority |= QUIET;
    if (ref.thread === this.self) this.#tellLocal(ref, type, payload, priority, messageId);
    else this.#tellRemote(ref, type, payload, priority, messageId, receipt);
    this.runtime.counters[STAT_ACCEPTED]!++;
  }

  /** Same thread: no ring, no dead thread, no congestion; only admission can refuse. */
  #tellLocal(ref: ActorRefImpl, type: string, payload: unknown, priority: number, messageId: string | undefined): void {
    const sender = this.current;
    if (sender === null && this.admissionClosed) throw shuttingDown();
    // Keys are never reused, so a ref may keep the cell it found: no map lookup per tell.
    const cell = (ref.cell ??= this.#cells.get(ref.key) ?? null);
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
    this.#admit(ref);
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

  /**
   * tell, waiting for room while the target's mailbox (or the ring to its thread) is full. Waiters
   * for one target are admitted first come, first served; each gives up after its timeoutMs.
   */
  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    try {
      const timeoutMs = options?.timeoutMs === undefined ? DEFAULT_ASK_MS : validateNumber(options.timeoutMs, 'options.timeoutMs', 0, 2 ** 31);
      if (!this.#waiting.has(ref.key)) {
        try {
          return this.#sendNow(ref, type, payload, options);
        } catch (error) {
          if (!(error instanceof MailboxFullError) || timeoutMs === 0) throw error;
        }
      }
      return new Promise<SendResult>((resolve, reject) => {
        const waiter: SendWaiter = { ref, type, payload, options, sender: this.current, resolve, reject, timer: null };
        let queue = this.#waiting.get(ref.key);
        if (queue === undefined) {
          queue = [];
          this.#waiting.set(ref.key, queue);
          this.#retrySends(ref.key, 0);
        }
        queue.push(waiter);
        waiter.timer = this.clock.setTimeout(() => {
          const q = this.#waiting.get(ref.key);
          const at = q?.indexOf(waiter) ?? -1;
          if (at < 0) return;
          q!.splice(at, 1);
          if (q!.length === 0) this.#waiting.delete(ref.key);
          reject(new MailboxFullError(`no room in the mailbox of actor ${ref.id} within ${timeoutMs} ms`));
        }, timeoutMs);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * One tell for send(): throws as tell does. With a messageId, the result says whether the
   * receiver had seen that id already (K6): known at once on this thread, from a receipt that the
   * receiving thread sends back otherwise.
   */
  #sendNow(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    if (options?.messageId === undefined) {
      this.tell(ref, type, payload, options);
      return ACCEPTED;
    }
    if (ref.thread === this.self) {
      // The mailbox decides synchronously: the duplicates counter moves if and only if it was one.
      const before = this.runtime.counters[STAT_DUPLICATES]!;
      this.tell(ref, type, payload, options);
      return Promise.resolve(this.runtime.counters[STAT_DUPLICATES]! > before ? DUPLICATE : NOT_DUPLICATE);
    }
    const { corr, promise } = this.asks.open(this.#askTimeoutMs, () => `receipt for ${type} to ${ref.id}`, ref.thread);
    try {
      this.tell(ref, type, payload, options, corr);
    } catch (error) {
      this.asks.reject(corr, error as Error);
      void promise.catch(() => undefined);
      throw error;
    }
    return promise.then((duplicate) => (duplicate === true ? DUPLICATE : NOT_DUPLICATE));
  }

  /** Admits the waiters for `key` in order while there is room; looks again soon while there is not. */
  #retrySends(key: number, attempt: number): void {
    const retry = (): void => {
      const queue = this.#waiting.get(key);
      if (queue === undefined) return;
      while (queue.length > 0) {
        const waiter = queue[0]!;
        const before = this.current;
        this.current = waiter.sender;
        let result: Promise<SendResult>;
        try {
          result = this.#sendNow(waiter.ref, waiter.type, waiter.payload, waiter.options);
        } catch (error) {
          if (error instanceof MailboxFullError) {
            this.#retrySends(key, attempt + 1);
            return;
          }
          queue.shift();
          if (waiter.timer !== null) this.clock.clearTimeout(waiter.timer);
          waiter.reject(error as Error);
          continue;
        } finally {
          this.current = before;
        }
        queue.shift();
        if (waiter.timer !== null) this.clock.clearTimeout(waiter.timer);
        waiter.resolve(result);
      }
      this.#waiting.delete(key);
    };
    // Poll: room appears when the host starts a message, which it does not announce. The first
    // looks come on the next event-loop turns, later ones every millisecond.
    if (attempt < 64) setImmediate(retry);
    else setTimeout(retry, 1);
  }

  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    try {
      if (typeof type !== 'string') throw invalid('ask(type)', 'a message type string', type);
      const timeoutMs = options?.timeoutMs === undefined ? this.#askTimeoutMs : validateNumber(options.timeoutMs, 'options.timeoutMs', 0, 2 ** 31);
      const priority = (options === undefined ? 0 : priorityOf(options)) | (this.#inListener ? QUIET : 0);
      this.#admit(ref);
      const sender = this.current;
      const senderKey = sender === null ? 0 : sender.key;
      if (ref.thread === this.self) {
        const cell = this.#cells.get(ref.key);
        if (cell === undefined || cell.ending) {
          throw new ActorStoppedError(`actor ${ref.id} is stopped`);
        }
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

  #reply(env: Envelope, value: unknown): void {
    if (env.senderThread === this.self) {
      if (!this.asks.resolve(env.corr, value)) this.#lateReply(env, value);
      return;
    }
    if (this.#dead[env.senderThread] === 1) {
      this.#lateReply(env, value); // the asker's thread died: nobody waits for this any more
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
      if (!this.asks.reject(env.corr, error)) this.#lateReply(env, error);
      return;
    }
    if (this.#dead[env.senderThread] === 1) {
      this.#lateReply(env, error);
      return;
    }
    this.runtime.send(env.senderThread, RecordKind.ReplyError, 0, env.senderKey, 0, env.corr, toWire(error));
  }

  #lateReply(env: Envelope, value: unknown): void {
    this.runtime.counters[STAT_OTHER_DEAD]!++;
    this.#emitDeadLetter({
      message: { type: `reply:${env.type}`, payload: value },
      sender: undefined,
      recipient: env.senderKey === 0 ? `thread:${env.senderThread}` : this.idOf(env.senderKey),
      reason: 'late-reply',
      deliveryCount: 1,
      at: this.clock.now(),
    });
  }

  // ---- outcomes of messages (called by cells) --------------------------------------------------

  /** `n` tells handled synchronously by one cell's run. */
  handledTells(n: number): void {
    this.runtime.counters[STAT_HANDLED]! += n;
  }

  handled(env: Envelope, result: unknown): void {
    this.runtime.counters[STAT_HANDLED]!++;
    if (env.kind === EnvelopeKind.Ask) this.#reply(env, result);
  }

  failed(cell: Cell, env: Envelope, error: Error): void {
    const counters = this.runtime.counters;
    counters[STAT_HANDLED]!++;
    counters[STAT_FAILED]!++;
    if (env.kind === EnvelopeKind.Ask) {
      this.#replyError(env, new ActorFailedError(`actor ${this.idOf(cell.key)} failed handling ${JSON.stringify(env.type)}: ${error.message}`, { cause: error }));
    }
  }

  /** A message for a cell waiting out a backoff whose stash is full: a dead letter. */
  stashOverflow(cell: Cell, env: Envelope): void {
    this.#deadLetter(env, cell.key, 'restart-stash-full', new MailboxFullError(`actor ${this.idOf(cell.key)} is restarting and its stash is full`));
  }

  // ---- at-least-once delivery (called by cells) --------------------------------------------------

  /** A tell dropped by dedup: accepted, and settled as a duplicate. */
  duplicate(): void {
    this.runtime.counters[STAT_DUPLICATES]!++;
  }

  /** Answers an ask whose delivery was counted earlier (an explicit ack). */
  reply(env: Envelope, value: unknown): void {
    if (env.kind === EnvelopeKind.Ask) this.#reply(env, value);
  }

  replyFailure(cell: Cell, env: Envelope, error: Error): void {
    if (env.kind !== EnvelopeKind.Ask) return;
    this.#replyError(env, new ActorFailedError(`actor ${this.idOf(cell.key)} failed handling ${JSON.stringify(env.type)}: ${error.message}`, { cause: error }));
  }

  /** An attempt that failed and will be retried (or dead-lettered): a failure, not yet an outcome. */
  attemptFailed(): void {
    this.runtime.counters[STAT_FAILED]!++;
  }

  maxDeliveries(cell: Cell, env: Envelope, error: Error, attempts: number): void {
    const failure = new ActorFailedError(`actor ${this.idOf(cell.key)} gave up on ${JSON.stringify(env.type)} after ${attempts} attempts: ${error.message}`, { cause: error });
    this.#deadLetter(env, cell.key, 'max-deliveries', failure, attempts);
  }

  deliveryTerminated(cell: Cell, env: Envelope): void {
    const attempt = cell.attempt?.count ?? 1;
    this.#deadLetter(env, cell.key, 'terminated', new ActorFailedError(`actor ${this.idOf(cell.key)} ended ${JSON.stringify(env.type)} with ctx.term()`), attempt);
  }

  /** A drop-oldest mailbox was full: the message it let go is a dead letter. */
  evicted(cell: Cell, env: Envelope): void {
    this.#deadLetter(env, cell.key, 'mailbox-full', new MailboxFullError(`the mailbox of actor ${this.idOf(cell.key)} is full: the oldest message of the lowest priority was dropped`));
  }

  /** A pool with no members was sent a message: accepted here, and a dead letter (no-routee). */
  noRoutee(type: string, payload: unknown): void {
    this.runtime.counters[STAT_ACCEPTED]!++;
    this.runtime.counters[STAT_DEAD_LETTERS]!++;
    this.#emitDeadLetter({
      message: { type, payload },
      sender: this.current === null ? undefined : this.idOf(this.current.key),
      recipient: 'pool',
      reason: 'no-routee',
      deliveryCount: 1,
      at: this.clock.now(),
    });
  }

  /** A timer of `cell` fell due: the actor sends itself the message (counted like any tell). */
  timerFired(cell: Cell, type: string, payload: unknown): void {
    if (cell.ending) return;
    // A timer the actor set itself is never refused, but it occupies room like any message.
    if (cell.queue !== null && cell.queue.entry >= 0) this.bounds.add(cell.queue.entry);
    cell.enqueue(new Envelope(EnvelopeKind.Tell, type, payload, this.self, cell.key, 0));
    this.runtime.counters[STAT_ACCEPTED]!++;
  }

  unhandled(cell: Cell, env: Envelope): void {
    this.#deadLetter(env, cell.key, 'unhandled');
    if (env.kind === EnvelopeKind.Ask) {
      this.#replyError(env, new UnhandledMessageError(`actor ${this.idOf(cell.key)} has no handler for ${JSON.stringify(env.type)}`));
    }
  }

  /** An accepted message that will not be handled: one dead letter, and its ask is answered. */
  #deadLetter(env: Envelope, recipientKey: number, reason: DeadLetterReason, error?: Error, deliveryCount = 1): void {
    this.runtime.counters[STAT_DEAD_LETTERS]!++;
    if (env.kind === EnvelopeKind.Ask && reason !== 'unhandled') {
      this.#replyError(env, error ?? new ActorStoppedError(`actor ${this.idOf(recipientKey)} is stopped`));
    }
    if (env.quiet) {
      this.runtime.counters[STAT_DL_QUIET]!++; // a dead-letter listener sent it: no loop (X2)
      return;
    }
    if (this.self !== 0 && Atomics.load(this.#ctl, CTL_DL_WATCHED) === 0) return;
    this.#emitDeadLetter({
      message: { type: env.type, payload: env.payload },
      sender: env.senderKey === 0 ? undefined : this.idOf(env.senderKey),
      recipient: this.idOf(recipientKey),
      reason,
      deliveryCount,
      at: this.clock.now(),
    });
  }

  #emitDeadLetter(letter: DeadLetter): void {
    if (this.self === 0) {
      this.#toListeners(letter);
      return;
    }
    if (Atomics.load(this.#ctl, CTL_DL_WATCHED) === 0) return;
    const control: ControlRecord = ['dl', letter];
    try {
      this.runtime.send(0, RecordKind.Control, 0, 0, 0, 0, control);
    } catch {
      // The payload cannot travel (a same-thread message held a function): report without it.
      this.runtime.send(0, RecordKind.Control, 0, 0, 0, 0, ['dl', { ...letter, message: { type: letter.message.type, payload: undefined } }]);
    }
  }

  /**
   * Main thread: hands a dead letter to the listeners. Messages they send are marked, so that a
   * listener that sends to a dead actor makes one counted dead letter, not a loop (X2); a dead
   * letter raised while they run is counted and not handed to them again.
   */
  #toListeners(letter: DeadLetter): void {
    if (this.onDeadLetter === null) return;
    if (this.#inListener) {
      this.runtime.counters[STAT_DL_QUIET]!++;
      return;
    }
    this.#inListener = true;
    try {
      this.onDeadLetter(letter);
    } finally {
      this.#inListener = false;
    }
  }

  // ---- topics --------------------------------------------------------------------------------

  /** Subscribes `ref` here and tells every other live thread. */
  subscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    validateString(topic, 'subscribe(topic)');
    if (group !== undefined) validateString(group, 'options.group');
    this.#topics.add(topic, ref, group);
    this.#broadcast(['sub', topic, ref.thread, ref.key, group ?? null]);
  }

  unsubscribe(topic: string, ref: ActorRefImpl, group: string | undefined): void {
    this.#topics.remove(topic, ref.key, group);
    this.#broadcast(['unsub', topic, ref.thread, ref.key, group ?? null]);
  }

  /** Sends a copy to each plain subscriber and to one member of each group. Returns how many. */
  /**
   * A copy to each plain subscriber and to one member of each group; returns how many copies were
   * accepted (a stopped or full subscriber is skipped). Subscribers on another thread get their
   * copies in one record per thread: the payload is encoded once per thread, not per subscriber,
   * and the subscribers on one thread share the decoded payload (as same-thread tells do).
   */
  publish(topic: string, type: string, payload: unknown, options: MessageOptions | undefined): number {
    validateString(topic, 'publish(topic)');
    if (typeof type !== 'string') throw invalid('publish(type)', 'a message type string', type);
    const recipients = this.#topics.recipients(topic);
    let accepted = 0;
    const skip = (error: unknown): void => {
      // A subscriber that is gone or full does not stop the others from getting theirs.
      if (!(error instanceof ActorStoppedError) && !(error instanceof MailboxFullError)) throw error;
    };
    const byThread = new Map<number, ActorRefImpl[]>();
    for (const ref of recipients) {
      // Local subscribers, and every copy that carries a messageId, go one by one.
      if (ref.thread === this.self || options?.messageId !== undefined) {
        try {
          this.tell(ref, type, payload, options);
          accepted++;
        } catch (error) {
          skip(error);
        }
        continue;
      }
      const refs = byThread.get(ref.thread);
      if (refs === undefined) byThread.set(ref.thread, [ref]);
      else refs.push(ref);
    }
    for (const [thread, refs] of byThread) {
      if (refs.length === 1) {
        try {
          this.tell(refs[0]!, type, payload, options);
          accepted++;
        } catch (error) {
          skip(error);
        }
        continue;
      }
      accepted += this.#fanout(thread, refs, type, payload, options === undefined ? 0 : priorityOf(options));
    }
    return accepted;
  }

  /** One Fanout record for `refs`, all on `thread`; returns how many copies were accepted. */
  #fanout(thread: number, refs: ActorRefImpl[], type: string, payload: unknown, priority: number): number {
    try {
      this.#admit(refs[0]!);
    } catch (error) {
      if (!(error instanceof ActorStoppedError) && !(error instanceof MailboxFullError)) throw error;
      return 0;
    }
    const keys: number[] = [];
    const entries: number[] = [];
    for (const ref of refs) {
      const entry = this.bounds.entryOf(ref.key);
      if (entry >= 0) {
        if (this.bounds.tryAcquire(entry, ref.key) === Admit.Full) {
          this.runtime.counters[STAT_REJECTED]!++;
          continue;
        }
        entries.push(entry);
      }
      keys.push(ref.key);
    }
    if (keys.length === 0) return 0;
    const sender = this.current;
    try {
      this.runtime.send(thread, RecordKind.Fanout, priority, 0, sender === null ? 0 : sender.key, keys.length, [keys, payload], type);
    } catch (error) {
      for (const entry of entries) this.bounds.release(entry);
      throw error;
    }
    this.runtime.counters[STAT_ACCEPTED]! += keys.length;
    return keys.length;
  }

  #broadcast(record: ControlRecord): void {
    for (let t = 0; t < this.#threadCount; t++) if (t !== this.self) this.#control(t, record);
  }

  // ---- death watch ---------------------------------------------------------------------------

  watch(watcher: Cell, ref: ActorRefImpl): void {
    checkRef(ref, 'watch(ref)');
    if (watcher.watching?.has(ref.key)) return;
    (watcher.watching ??= new Map()).set(ref.key, ref);
    if (this.#dead[ref.thread] === 1) {
      this.#deliverTerminated(watcher, ref.thread, ref.key, 'thread-exit');
      return;
    }
    if (ref.thread === this.self) {
      const target = this.#cells.get(ref.key);
      if (target === undefined || target.status === 'stopped') this.#deliverTerminated(watcher, ref.thread, ref.key, 'noproc');
      else (target.watchers ??= new Map()).set(watcher.key, this.self);
      return;
    }
    this.#control(ref.thread, ['watch', ref.key, watcher.key]);
  }

  unwatch(watcher: Cell, ref: ActorRefImpl): void {
    checkRef(ref, 'unwatch(ref)');
    if (watcher.watching?.delete(ref.key) !== true) return;
    if (ref.thread === this.self) this.#cells.get(ref.key)?.watchers?.delete(watcher.key);
    else this.#control(ref.thread, ['unwatch', ref.key, watcher.key]);
  }

  #deliverTerminated(watcher: Cell, thread: number, key: number, reason: ExitReason): void {
    if (watcher.ending) return;
    const notice: TerminatedNotice = { thread, key, reason };
    watcher.enqueue(new Envelope(EnvelopeKind.Terminated, 'terminated', notice, thread, key, 0));
  }

  // ---- links ----------------------------------------------------------------------------------

  link(cell: Cell, ref: ActorRefImpl): void {
    checkRef(ref, 'link(ref)');
    if (ref.key === cell.key || cell.links?.has(ref.key)) return;
    (cell.links ??= new Map()).set(ref.key, ref);
    if (this.#dead[ref.thread] === 1) {
      this.#exitReceived(cell, ref.thread, ref.key, 'thread-exit');
      return;
    }
    if (ref.thread !== this.self) {
      this.#control(ref.thread, ['link', ref.key, cell.key]);
      return;
    }
    const peer = this.#cells.get(ref.key);
    if (peer === undefined || peer.ending) this.#exitReceived(cell, ref.thread, ref.key, 'noproc');
    else (peer.links ??= new Map()).set(cell.key, cell.self);
  }

  unlink(cell: Cell, ref: ActorRefImpl): void {
    checkRef(ref, 'unlink(ref)');
    if (cell.links?.delete(ref.key) !== true) return;
    if (ref.thread === this.self) this.#cells.get(ref.key)?.links?.delete(cell.key);
    else this.#control(ref.thread, ['unlink', ref.key, cell.key]);
  }

  /** `cell` failed or ended: each linked actor gets the exit, and the link is used up. */
  exitSignals(cell: Cell, reason: ExitReason): void {
    const links = cell.links;
    if (links === null || links.size === 0) return;
    cell.links = null;
    for (const peer of links.values()) {
      if (peer.thread === this.self) {
        const target = this.#cells.get(peer.key);
        if (target === undefined) continue;
        target.links?.delete(cell.key);
        this.#exitReceived(target, this.self, cell.key, reason);
      } else {
        this.#control(peer.thread, ['exit', peer.key, cell.key, reason]);
      }
    }
  }

  /** An exit from a linked actor, in order behind what it sent (a signal in the mailbox). */
  #exitReceived(cell: Cell, thread: number, key: number, reason: ExitReason): void {
    if (cell.ending) return;
    cell.links?.delete(key);
    const notice: TerminatedNotice = { thread, key, reason };
    cell.enqueue(new Envelope(EnvelopeKind.Exit, 'exit', notice, thread, key, 0));
  }

  /** Tells the watchers of a cell that just ended, each after everything the cell sent it. */
  #notifyWatchers(cell: Cell): void {
    if (cell.watchers !== null) {
      for (const [watcherKey, watcherThread] of cell.watchers) {
        if (watcherThread === this.self) {
          if (watcherKey < 0) {
            this.#fnWatchEnded(watcherKey, cell.exitReason);
            continue;
          }
          const watcher = this.#cells.get(watcherKey);
          if (watcher !== undefined) this.#deliverTerminated(watcher, this.self, cell.key, cell.exitReason);
        } else {
          this.#control(watcherThread, ['terminated', cell.key, watcherKey, cell.exitReason]);
        }
      }
      cell.watchers = null;
    }
    if (cell.watching !== null) {
      for (const ref of cell.watching.values()) this.unwatch(cell, ref);
    }
  }

  /** A control notice to another thread; a dead thread gets none (nothing there can act on it). */
  #control(thread: number, record: ControlRecord): void {
    if (this.#dead[thread] === 1) return;
    this.runtime.send(thread, RecordKind.Control, 0, 0, 0, 0, record);
  }

  // ---- stopping -------------------------------------------------------------------------------

  /** Stops any actor by ref. Resolves when its onStop ran (at once if it is already gone). */
  /** Stops any actor by ref; `how` 1: after what it already accepted, 2: killed (an abnormal exit). */
  stopRef(ref: ActorRefImpl, graceful = false, kill = false): Promise<void> {
    if (this.#remote.isOrphan(ref.key)) {
      this.#remote.gone(ref.key); // died with its thread, and now it is not to be restarted
      return RESOLVED;
    }
    if (ref.thread === this.self) {
      const cell = this.#cells.get(ref.key);
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
    this.#cells.delete(cell.key);
    const reason = this.stopReason;
    const leftovers = cell.queue?.drain() ?? [];
    if (cell.queue !== null && cell.queue.entry >= 0) this.bounds.free(cell.queue.entry);
    // A pool member in ack mode hands its unhandled tells back to its pool, for the others (G4).
    const pooled = cell.policy.routeeOf !== null && cell.policy.delivery?.ack === true ? ([] as Returned[]) : null;
    const settle = (env: Envelope, attempt: number): void => {
      if (pooled !== null && env.kind === EnvelopeKind.Tell) {
        pooled.push([env.type, env.payload, env.priority, env.messageId ?? null, Math.max(2, attempt), env.senderThread, env.senderKey]);
      } else {
        this.#deadLetter(env, cell.key, reason, initFailure ?? undefined);
      }
    };
    for (const { env, count } of cell.takeRedeliveries()) settle(env, count);
    for (const env of leftovers) {
      if (env.kind === EnvelopeKind.Stop) continue;
      if (env.kind === EnvelopeKind.Terminated) continue;
      settle(env, 1);
    }
    if (pooled !== null && pooled.length > 0) this.#handover.returnToPool(cell, pooled);
    if (cell.heldReplicas) this.#handover.stopped(cell); // everything it held is settled above
    this.#notifyWatchers(cell);
    this.exitSignals(cell, cell.exitReason);
    if (this.#topics.dropKey(cell.key)) this.#broadcast(['unsub-all', cell.key]);
    this.#childStopped(cell);
  }

  // ---- handover (keepCopies, G4): see handover.ts ------------------------------------------

  spawnerOf(key: number): number {
    return key % KEY_SPAN;
  }

  replicates(key: number): boolean {
    return this.#handover.replicates(key);
  }

  replicaHeld(cell: Cell, env: Envelope, seq: number): void {
    this.#handover.held(cell, env, seq);
  }

  replicaSettled(cell: Cell, seq: number): void {
    this.#handover.settled(cell, seq);
  }

  resendReplicas(thread: number, key: number, replicas: Replica[], restarted: boolean, routeeOf: readonly [number, number] | null): void {
    this.#handover.resend(thread, key, replicas, restarted, routeeOf);
  }

  registerPool(pool: Pool): readonly [number, number] {
    return this.#handover.registerPool(pool);
  }

  unregisterPool(id: number): void {
    this.#handover.unregisterPool(id);
  }

  sendReplicas(thread: number, batches: ReplicaBatch[]): void {
    this.#control(thread, ['replicas', batches]);
  }

  sendReturned(thread: number, pool: number, from: number, returned: Returned[]): void {
    this.#control(thread, ['returned', pool, from, returned]);
  }

  deadLetterOf(env: Envelope, recipientKey: number, reason: DeadLetterReason): void {
    this.#deadLetter(env, recipientKey, reason);
  }

  /**
   * Calls `onEnd` once when `ref` stops for good (or at once if it is gone), wherever it runs:
   * death watch for runtime parts that are not actors. Returns the function that cancels it.
   */
  watchWith(ref: ActorRefImpl, onEnd: (reason: ExitReason) => void): () => void {
    const id = --this.#fnWatchSeq;
    this.#fnWatchers.set(id, { ref, onEnd });
    const cancel = (): void => {
      if (!this.#fnWatchers.delete(id)) return;
      if (ref.thread === this.self) this.#cells.get(ref.key)?.watchers?.delete(id);
      else this.#control(ref.thread, ['unwatch', ref.key, id]);
    };
    if (this.#dead[ref.thread] === 1) {
      queueMicrotask(() => this.#fnWatchEnded(id, 'thread-exit'));
    } else if (ref.thread === this.self) {
      const target = this.#cells.get(ref.key);
      if (target === undefined || target.status === 'stopped') queueMicrotask(() => this.#fnWatchEnded(id, 'noproc'));
      else (target.watchers ??= new Map()).set(id, this.self);
    } else {
      this.#control(ref.thread, ['watch', ref.key, id]);
    }
    return cancel;
  }

  #fnWatchEnded(id: number, reason: ExitReason): void {
    const w = this.#fnWatchers.get(id);
    if (w === undefined) return;
    this.#fnWatchers.delete(id);
    w.onEnd(reason);
  }

  // ---- supervision -----------------------------------------------------------------------------

  now(): number {
    return this.clock.now();
  }

  /** Stops a cell's children one at a time, newest first. */
  async stopChildren(cell: Cell): Promise<void> {
    if (cell.children === null) return;
    for (const ref of cell.childRefs().reverse()) await this.stopRef(ref);
  }

  /** A supervised child failed: its parent decides (on the parent's thread). */
  /** A supervised child failed (or, `normalExit`, a permanent one stopped itself): its parent decides. */
  reportFailure(child: Cell, error: Error, normalExit = false): void {
    if (child.parentThread === this.self) {
      const key = child.key;
      queueMicrotask(() => this.#childFailed(child.parentKey, this.self, key, error, child.policy.restart, normalExit));
      return;
    }
    this.#control(child.parentThread, ['child-failed', child.parentKey, child.key, toWire(error), child.policy.restart, normalExit]);
  }

  #childFailed(parentKey: number, childThread: number, childKey: number, error: Error, type: RestartType, normalExit: boolean): void {
    const parent = this.#cells.get(parentKey);
    const child = this.refFor(childThread, childKey);
    const supervisor = parent?.supervisor ?? null;
    if (parent === undefined || supervisor === null) {
      void this.stopRef(child); // nobody left to decide: a failed child does not linger suspended
      return;
    }
    supervisor.childFailed(this, parent, child, error, type, normalExit);
  }

  /** A supervisor's directive to one of its children, on any thread. */
  directive(child: ActorRefImpl, verb: 'resume' | 'restart' | 'halt' | 'start'): Promise<unknown> {
    if (this.#remote.isOrphan(child.key)) {
      // Died with its thread: there is no instance to resume or halt; it starts afresh.
      if (verb === 'halt') return Promise.resolve(this.#remote.restartTypeOf(child.key));
      this.#remote.respawn(child.key);
      return Promise.resolve(null);
    }
    if (child.thread === this.self) return this.#cells.get(child.key)?.applyDirective(verb) ?? Promise.resolve(null);
    if (this.#dead[child.thread] === 1) return Promise.resolve(null);
    const { corr, promise } = this.asks.open(0, () => `${verb} of ${child.id}`, child.thread);
    this.runtime.send(child.thread, RecordKind.Directive, 0, child.key, this.current?.key ?? 0, corr, verb);
    return promise.catch(() => null);
  }

  #childStopped(cell: Cell): void {
    if (cell.parentKey === 0) {
      // A top-level actor that main spawned here: main forgets its spawn record.
      if (this.self !== 0 && cell.key % KEY_SPAN === 0) this.#control(0, ['child-stopped', 0, this.self, cell.key]);
      return;
    }
    if (cell.parentThread === this.self) {
      const parent = this.#cells.get(cell.parentKey);
      parent?.children?.delete(cell.key);
      return;
    }
    this.#control(cell.parentThread, ['child-stopped', cell.parentKey, this.self, cell.key]);
  }

  // ---- inbound records ------------------------------------------------------------------------

  onRecord(from: number, h: RecordHeader, payload: unknown, tag: string): void {
    switch (h.kind) {
      case RecordKind.Tell:
      case RecordKind.Ask: {
        let priority = h.priority;
        let messageId: string | undefined;
        if ((priority & WIRE_REDELIVERY) !== 0) {
          const [attempt, id, senderThread, inner] = payload as [number, string | null, number, unknown];
          const env = new Envelope(EnvelopeKind.Tell, tag, inner, senderThread, h.sender, 0, priority & (MAX_PRIORITY | QUIET), id ?? undefined);
          const cell = this.#cells.get(h.target);
          if (cell !== undefined && !cell.ending) cell.redeliver(env, attempt);
          else this.#deliver(h.target, env);
          return;
        }
        if ((priority & WIRE_MESSAGE_ID) !== 0) {
          [messageId, payload] = payload as [string, unknown];
          if ((priority & WIRE_RECEIPT) !== 0) {
            this.#deliverWithReceipt(from, h, tag, payload, messageId, priority & (MAX_PRIORITY | QUIET));
            return;
          }
          priority &= MAX_PRIORITY | QUIET;
        }
        if (priority === 0 && messageId === undefined && h.kind === RecordKind.Tell) {
          const cell = this.#cells.get(h.target);
          if (cell !== undefined && !cell.ending) {
            cell.tell(tag, payload, from, h.sender);
            return;
          }
        }
        const env = new Envelope(h.kind === RecordKind.Ask ? EnvelopeKind.Ask : EnvelopeKind.Tell, tag, payload, from, h.sender, h.corr, priority, messageId);
        this.#deliver(h.target, env);
        return;
      }
      case RecordKind.Fanout: {
        const [keys, shared] = payload as [number[], unknown];
        const priority = h.priority;
        for (const key of keys) this.#deliver(key, new Envelope(EnvelopeKind.Tell, tag, shared, from, h.sender, 0, priority));
        return;
      }
      case RecordKind.Reply:
        if (!this.asks.resolve(h.corr, payload)) this.#lateReply(new Envelope(EnvelopeKind.Ask, 'ask', undefined, this.self, h.target, h.corr), payload);
        return;
      case RecordKind.ReplyError: {
        const error = fromWire(payload as WireError);
        if (!this.asks.reject(h.corr, error)) this.#lateReply(new Envelope(EnvelopeKind.Ask, 'ask', undefined, this.self, h.target, h.corr), error);
        return;
      }
      case RecordKind.Spawn:
        this.#spawnFromRecord(from, h.target, payload as SpawnRecord);
        return;
      case RecordKind.Stop: {
        // The header object is reused for the next record: capture what the reply needs now.
        const { sender, corr } = h;
        const done = this.stopRef(this.refFor(this.self, h.target), payload === 1, payload === 2);
        void done.then(() => {
          if (this.#dead[from] === 0) this.runtime.send(from, RecordKind.Reply, 0, sender, 0, corr, undefined);
        });
        return;
      }
      case RecordKind.Control:
        this.#onControl(from, payload as ControlRecord);
        return;
      case RecordKind.Directive: {
        const { target, sender, corr } = h; // the header object is reused for the next record
        const cell = this.#cells.get(target);
        const done = cell === undefined ? Promise.resolve(null) : cell.applyDirective(payload as 'resume');
        void done.then((answer) => {
          if (this.#dead[from] === 0) this.runtime.send(from, RecordKind.Reply, 0, sender, 0, corr, answer);
        });
        return;
      }
      default:
        return;
    }
  }

  /** A send with a messageId from another thread: deliver, then tell the sender whether it was a duplicate. */
  #deliverWithReceipt(from: number, h: RecordHeader, tag: string, payload: unknown, messageId: string, priority: number): void {
    const { target, sender, corr } = h;
    const before = this.runtime.counters[STAT_DUPLICATES]!;
    this.#deliver(target, new Envelope(EnvelopeKind.Tell, tag, payload, from, sender, 0, priority, messageId));
    // (Held for an actor whose spawn record is still on its way, it is checked when it arrives:
    // the receipt says only what is known now.)
    if (this.#dead[from] === 0) this.runtime.send(from, RecordKind.Reply, 0, sender, 0, corr, this.runtime.counters[STAT_DUPLICATES]! > before);
  }

  onDecodeFailure(from: number, h: RecordHeader, error: Error, tag: string): void {
    const env = new Envelope(h.kind === RecordKind.Ask ? EnvelopeKind.Ask : EnvelopeKind.Tell, tag, undefined, from, h.sender, h.corr);
    const failure = new SerializationError(`message could not be decoded: ${error.message}`, { cause: error });
    if (h.kind === RecordKind.Tell || h.kind === RecordKind.Ask) this.#deadLetter(env, h.target, 'decode-failed', failure);
    // A fan-out whose keys could not be read: one dead letter per copy, addressed to the thread.
    else if (h.kind === RecordKind.Fanout) for (let n = 0; n < h.corr; n++) this.#deadLetter(env, 0, 'decode-failed', failure);
  }

  #deliver(key: number, env: Envelope): void {
    const cell = this.#cells.get(key);
    if (cell !== undefined && !cell.ending) {
      cell.enqueue(env);
      return;
    }
    if (cell === undefined) {
      if (this.#notYetSpawned(key) || this.#pending?.has(key) === true) {
        // Its spawn record is still on the way (it came from another thread's ring): hold it.
        const held = this.#early.get(key);
        if (held === undefined) this.#early.set(key, [env]);
        else held.push(env);
        return;
      }
    }
    this.#deadLetter(env, key, cell === undefined && this.#ofPredecessor(key) ? 'thread-crash' : this.stopReason);
  }

  /** A replacement thread: true when `key` is an actor of its predecessor that is gone with it. */
  #ofPredecessor(key: number): boolean {
    return (key % KEY_SPAN === this.self && Math.floor(key / KEY_SPAN) <= this.#seqBase) || this.#gone.has(key);
  }

  /** A replacement thread: an actor of its predecessor is not restarted. */
  #predecessorGone(key: number): void {
    if (this.#pending?.delete(key) !== true) return;
    this.#gone.add(key);
    const held = this.#early.get(key);
    this.#early.delete(key);
    if (held !== undefined) for (const env of held) this.#deadLetter(env, key, 'thread-crash');
    const watchers = this.#earlyWatchers.get(key);
    this.#earlyWatchers.delete(key);
    if (watchers !== undefined) for (const [watcherKey, watcherThread] of watchers) this.#control(watcherThread, ['terminated', key, watcherKey, 'thread-exit']);
  }

  /** True when `key` was made by another thread whose spawn record has not arrived here yet. */
  #notYetSpawned(key: number): boolean {
    const spawner = key % KEY_SPAN;
    return spawner !== this.self && Math.floor(key / KEY_SPAN) > this.#lastSpawnSeq[spawner]!;
  }

  #onControl(from: number, record: ControlRecord): void {
    switch (record[0]) {
      case 'dl':
        this.#toListeners(record[1]);
        return;
      case 'thread-down':
        this.threadDown(record[1], record[2]);
        return;
      case 'child-failed':
        this.#childFailed(record[1], from, record[2], fromWire(record[3]), record[4], record[5]);
        return;
      case 'watch': {
        const [, targetKey, watcherKey] = record;
        const target = this.#cells.get(targetKey);
        if (target === undefined && (this.#notYetSpawned(targetKey) || this.#pending?.has(targetKey) === true)) {
          // Its spawn record is still on another ring: hold the watch like a message.
          const held = this.#earlyWatchers.get(targetKey) ?? new Map<number, number>();
          held.set(watcherKey, from);
          this.#earlyWatchers.set(targetKey, held);
        } else if (target === undefined || target.status === 'stopped') {
          this.#control(from, ['terminated', targetKey, watcherKey, target === undefined && this.#ofPredecessor(targetKey) ? 'thread-exit' : 'noproc']);
        } else {
          (target.watchers ??= new Map()).set(watcherKey, from);
        }
        return;
      }
      case 'unwatch':
        this.#cells.get(record[1])?.watchers?.delete(record[2]);
        return;
      case 'terminated': {
        const [, targetKey, watcherKey, reason] = record;
        if (watcherKey < 0) {
          this.#fnWatchEnded(watcherKey, reason);
          return;
        }
        const watcher = this.#cells.get(watcherKey);
        if (watcher?.watching?.has(targetKey)) this.#deliverTerminated(watcher, from, targetKey, reason);
        return;
      }
      case 'link': {
        const [, targetKey, peerKey] = record;
        const target = this.#cells.get(targetKey);
        if (target === undefined || target.ending) this.#control(from, ['exit', peerKey, targetKey, 'noproc']);
        else (target.links ??= new Map()).set(peerKey, this.refFor(from, peerKey));
        return;
      }
      case 'unlink':
        this.#cells.get(record[1])?.links?.delete(record[2]);
        return;
      case 'exit': {
        const [, linkedKey, exitedKey, reason] = record;
        const linked = this.#cells.get(linkedKey);
        if (linked?.links?.has(exitedKey)) this.#exitReceived(linked, from, exitedKey, reason);
        return;
      }
      case 'unsub-all':
        this.#topics.dropKey(record[1]);
        return;
      case 'sub':
        this.#topics.add(record[1], this.refFor(record[2], record[3]), record[4] ?? undefined);
        return;
      case 'unsub':
        this.#topics.remove(record[1], record[3], record[4] ?? undefined);
        return;
      case 'gone':
        this.#predecessorGone(record[1]);
        return;
      case 'replicas':
        for (const [key, held, done, stopped] of record[1]) {
          this.#remote.replicas(key, held, done);
          if (stopped) this.#remote.replicasDone(key);
        }
        return;
      case 'returned':
        this.runtime.counters[STAT_RING_IN]! += record[3].length; // in this thread's custody now
        this.#handover.reroute(record[1], record[2], record[3]);
        return;
      case 'seen':
        this.#remote.seen(record[1], record[2], record[3]);
        return;
      case 'child-stopped':
        break;
    }
    const [, parentKey, childThread, childKey] = record;
    this.#remote.stopped(childKey, childThread);
    const parent = this.#cells.get(parentKey);
    if (parent?.children?.get(childKey) === childThread) parent.children.delete(childKey);
  }

  /**
   * The thread is closing at the end of a shutdown, and some stops were forced (a handler or
   * onStop ran past shutdownTimeoutMs): what those actors still held becomes dead letters
   * ('shutdown'), and so do the messages whose handlers never settled (by count: they are only
   * known to be running). The books stay whole.
   */
  abandonAll(): void {
    for (const cell of this.#cells.values()) {
      for (const env of cell.queue?.drain() ?? []) if (env.kind === EnvelopeKind.Tell || env.kind === EnvelopeKind.Ask) this.#deadLetter(env, cell.key, 'shutdown');
      for (const { env } of cell.takeRedeliveries()) this.#deadLetter(env, cell.key, 'shutdown');
      const attempt = cell.currentAttempt;
      if (attempt !== null) this.#deadLetter(attempt, cell.key, 'shutdown');
    }
    for (; this.inFlight > 0; this.inFlight--) this.#deadLetter(new Envelope(EnvelopeKind.Tell, '', undefined, this.self, 0, 0), 0, 'shutdown');
  }

  /** Main thread: whether workers should forward their dead letters here. */
  watchDeadLetters(on: boolean): void {
    Atomics.store(this.#ctl, CTL_DL_WATCHED, on ? 1 : 0);
  }
}

const LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'];

function validateResourceLimits(limits: ResourceLimits): void {
  validateObject(limits, 'options.resourceLimits');
  for (const [key, value] of Object.entries(limits)) {
    if (!LIMITS.includes(key)) throw invalid(`options.resourceLimits.${key}`, `one of ${LIMITS.join(', ')}`, value);
    validateNumber(value, `options.resourceLimits.${key}`, 1, 1 << 20);
  }
}

function shuttingDown(): ShuttingDownError {
  return new ShuttingDownError('the system is shutting down: no new messages from outside actors');
}

/** A message's priority lane: missing is 0, out of range is clamped to 0..3 (RabbitMQ's rule). */
function priorityOf(options: MessageOptions): number {
  const p = options.priority;
  if (p === undefined) return 0;
  if (typeof p !== 'number' || Number.isNaN(p)) throw invalid('options.priority', 'a number (0..3; others are clamped)', p);
  return p <= 0 ? 0 : p >= MAX_PRIORITY ? MAX_PRIORITY : Math.floor(p);
}
