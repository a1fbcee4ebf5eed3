// The actor host of one thread: the registry of the cells it runs, spawn, tell and ask.
// Same-thread messages are a push onto the target's queue; messages to other threads become
// records on the ring to that thread. The rest of a host lives in rooms of its own that this
// file builds and wires together (each sees the host as NodeCore, node-core.ts): records in
// (inbound-records.ts, control-records.ts, spawn-arrivals.ts) and out (records.ts), outcomes
// and dead letters, stopping, death watch, links, topics, the send queue, arrivals, supervision
// across threads, and recovery from a thread's death.

import { ActorStoppedError, MailboxFullError, ShuttingDownError } from '../../errors.js';
import { MailboxBounds, Admit } from '../../runtime/bounds-table.js';
import type { Clock } from '../../runtime/clock.js';
import type { MessagePort } from 'node:worker_threads';
import type { ActorInfo, DeathNotice, PeerRecovery } from '../../runtime/control.js';
import { checkPayload } from '../../runtime/codec.js';
import { ControlBlock } from '../../runtime/control-block.js';
import { STAT_ACCEPTED, STAT_DUPLICATES, STAT_REJECTED, STAT_SPAWN_SEQ, ThreadState } from '../../runtime/layout.js';
import { IntMap } from '../../runtime/int-map.js';
import { Liveness, inTransitIn, locationIn } from '../../runtime/liveness.js';
import { OffloadPool } from '../../runtime/offload.js';
import { Placer } from '../../runtime/placement.js';
import type { ThreadRuntime } from '../../runtime/thread-runtime.js';
import { invalid, validateNumber } from '../../validate.js';
import { ActorRefImpl } from '../actor-ref.js';
import { isRemoteRef, RemoteRefImpl } from '../remote-ref.js';
import { NoCluster, WorkerRelay, type CrossNodePort } from './cross-node.js';
import { Arrivals, type NodeRecovery } from './arrivals.js';
import { AskTable } from './ask.js';
import { Cell } from '../cell/cell.js';
import type { CellHost } from '../cell/cell-host.js';
import { Context } from '../cell/context.js';
import { dispatchControl, type ControlHost } from './control-records.js';
import { DeadLetters } from './dead-letters.js';
import { DeathWatch } from './death-watch.js';
import { ASK_END, ASK_START, actorSpawned, tracedAsk } from '../diagnostics.js';
import { DiagnosticsRelay } from './diagnostics-relay.js';
import { isDefinition } from '../define.js';
import { Envelope, EnvelopeKind, QUIET, STARTED } from '../cell/envelope.js';
import { Handover } from '../recovery/handover.js';
import { InboundRecords, type InboundHost } from './inbound-records.js';
import { Links } from './links.js';
import { Fences } from './fences.js';
import { Moves, pinReason, type MoveHost } from './moves.js';
import { TrafficSampler } from './traffic-sample.js';
import type { Logger } from '../logger.js';
import { Names } from './names.js';
import { Outcomes, type OutcomeHost } from './outcomes.js';
import { priorityOf } from '../cell/mailbox.js';
import { MailboxWait } from '../cell/mailbox-wait.js';
import { placeActor, type PlacementContext } from '../placement-options.js';
import { DEFAULT_POLICY, PLACED_POLICY, resolvePolicy } from '../policy.js';
import type { PoolHost } from '../pool.js';
import { RemoteSpawns, type SpawnerHost } from '../recovery/remote-spawns.js';
import { predecessorGone, threadDown, type RecoveryHost } from '../recovery/thread-down.js';
import { RecordWriter } from './records.js';
import { SendQueue } from './send-queue.js';
import { SpawnArrivals } from './spawn-arrivals.js';
import { stopTopLevel } from './stop-all.js';
import { Stopping, type StopHost } from './stopping.js';
import { SupervisionWire, type SupervisionHost } from '../supervision/across-threads.js';
import { Topics } from './topics.js';
import { traceFor, tracing } from '../trace.js';
import { isEntity } from '../entity/define-entity.js';
import { MAX_MESSAGE_ID_BYTES, byteLength } from '../entity/entity-ids.js';
import { Entities, type Receipt } from '../entity/entities.js';
import { EntityPosts } from './entity-posts.js';
import { joinClusterEntities, type ClusterEntitiesBoot } from '../entity/cluster-entities.js';
import type { ShardMap } from '../entity/shard-map.js';
import type { EntityAddress, EntityRefImpl } from '../entity/entity-ref.js';
import type { SendToEntity } from '../entity/entity-host.js';
import { entitySender } from './entity-send.js';
import type { AnyDefinition, AskOptions, DeadLetterReason, MessageOptions, ResourceLimits, SendOptions, SendResult, SpawnOptions } from '../types.js';
import { KEY_SPAN, WIRE_ENTITY, WIRE_MESSAGE_ID, WIRE_RECEIPT, WIRE_TRACE, spawnerOf, type ControlRecord, type SpawnRecord } from './wire.js';

export type { NodeRecovery };

/** How long a thread waits for an actor on its way elsewhere to settle (whenPlaced): past a fence. */
const PLACED_WAIT_MS = 30_000;

export interface NodeOptions {
  readonly systemId: string;
  readonly clock: Clock;
  readonly ctl: SharedArrayBuffer;
  /** The bounded-mailbox table (bounds-table.ts), shared by every thread. */
  readonly bounds: SharedArrayBuffer;
  /** Which actors are gone (liveness.ts), a table per spawning thread, shared by every thread. */
  readonly liveness: readonly SharedArrayBuffer[];
  readonly defaultAskTimeoutMs: number;
  /** Threads in this thread's offload pool (created on first ctx.offload). */
  readonly offloadThreads: number;
  /** Set when this thread replaces one that died. */
  readonly recovery?: NodeRecovery;
  /** Worker threads that balanced placement may use (1..workers); slots above are dedicated. */
  readonly workers: number;
  /** Main thread: where log lines go, a worker's included (default: process.emitWarning). */
  readonly logger?: Logger;
  /** The system is a node of a cluster (topics reach the other nodes). */
  readonly clustered?: boolean;
  /** In a cluster: its entity shards and shared store (entity/cluster-entities.ts). */
  readonly shards?: ClusterEntitiesBoot;
}

export class ActorNode implements MoveHost, StopHost, OutcomeHost, InboundHost, ControlHost, RecoveryHost, SupervisionHost, CellHost<Cell>, SpawnerHost, PoolHost {
  readonly runtime: ThreadRuntime;
  readonly self: number;
  readonly threadCount: number;
  readonly clock: Clock;
  readonly asks: AskTable;
  /** Times the wait of one message in 1024 arriving here (cell/mailbox-wait.ts). */
  readonly mailboxWait: MailboxWait;
  readonly bounds: MailboxBounds;
  /** Which actors are gone, by spawner and sequence number: a call to one fails at once on any thread. */
  readonly liveness: Liveness;
  readonly cells = new IntMap<Cell>();
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

  /** Writes this thread's records into other threads' rings. */
  readonly records: RecordWriter;
  readonly deadLetters: DeadLetters;
  /** Diagnostics events and log lines from workers to main (diagnostics-relay.ts). */
  readonly diagnostics: DiagnosticsRelay;
  readonly outcomes: Outcomes;
  readonly deathWatch: DeathWatch;
  readonly links: Links;
  readonly topics: Topics;
  readonly inbound: InboundRecords;
  readonly supervision: SupervisionWire;
  /** Actors this thread spawned on other threads: restarted from here if their thread dies. */
  readonly remote: RemoteSpawns;
  /** Copies of ack-mode tells, and what pool members hand back (handover.ts). */
  readonly handover: Handover;
  /** Registered names (the table lives on the main thread). */
  readonly names: Names;
  /** Refs to entities, and the activations of the keys that live on this thread. */
  readonly entities: Entities;
  /** Main's messages to entities that it stores itself (a store on disk, no cluster): entity-posts.ts. */
  readonly posts: EntityPosts;
  /** In a cluster: where each entity shard lives (entity/shard-map.ts); null without one. */
  readonly shardMap: ShardMap | null;
  /** Actors moving to other threads, and arriving from them. */
  readonly moves: Moves;
  /** Fences: once every live thread has taken what this one sent it before (fences.ts). */
  readonly fences: Fences;
  /** This thread's counts of actors that moved away and arrived (shared memory, read by stats()). */
  readonly migrations: Float64Array;
  /** Traffic and CPU samples for the planner (traffic-sample.ts): nothing is sampled until it asks. */
  readonly sampler: TrafficSampler;
  /** Worker threads (1..workers) that balanced placement and entity keys spread over. */
  readonly workers: number;
  /** The system is a node of a cluster. */
  readonly clustered: boolean;
  readonly #sends: SendQueue;
  readonly #stopping: Stopping;
  readonly #systemId: string;
  readonly #ctl: ControlBlock;
  /** Threads that died: nothing is sent to them any more. */
  readonly #dead: Uint8Array;
  readonly #offload: OffloadPool;
  readonly #placement: PlacementContext;
  #seq = 0;
  /** Actors spawned here by other threads: their cells made, their modules loaded. */
  readonly #arriving: SpawnArrivals;
  /** The host of refs to actors on other nodes (cross-node.ts); main's is the cluster gateway once the system joins one. */
  crossNode: CrossNodePort;

  constructor(runtime: ThreadRuntime, options: NodeOptions) {
    this.runtime = runtime;
    this.self = runtime.self;
    this.threadCount = runtime.threadCount;
    this.clock = options.clock;
    this.asks = new AskTable(options.clock, runtime.histograms);
    this.mailboxWait = new MailboxWait(options.clock, runtime.histograms);
    this.bounds = new MailboxBounds(options.bounds, runtime.threadCount, KEY_SPAN);
    this.liveness = new Liveness(options.liveness, runtime.self);
    this.askTimeoutMs = options.defaultAskTimeoutMs;
    this.#systemId = options.systemId;
    this.#ctl = new ControlBlock(options.ctl);
    this.#dead = new Uint8Array(this.threadCount);
    this.#offload = new OffloadPool(options.offloadThreads);
    const placer = new Placer(this.#ctl, options.workers, (thread) => this.#dead[thread] === 1, () => this.clock.now());
    this.#placement = {
      self: this.self,
      threads: options.workers + 1,
      isDead: (thread) => this.#dead[thread] === 1,
      balanced: () => placer.pick(),
      canDedicate: () => this.onDedicated !== null,
      dedicated: (limits) => this.onDedicated!(limits),
    };
    this.records = new RecordWriter(runtime);
    this.arrivals = new Arrivals(this.self, this.threadCount, options.recovery);
    this.deadLetters = new DeadLetters(this.self, runtime, this.clock, this.#ctl, (key) => this.idOf(key));
    this.diagnostics = new DiagnosticsRelay(runtime, this.#ctl, options.logger);
    this.outcomes = new Outcomes(this);
    this.deathWatch = new DeathWatch(this);
    this.links = new Links(this);
    this.topics = new Topics(this);
    this.inbound = new InboundRecords(this);
    this.supervision = new SupervisionWire(this);
    this.remote = new RemoteSpawns(this);
    this.handover = new Handover(this);
    this.names = new Names(this);
    this.workers = options.workers;
    this.clustered = options.clustered === true;
    this.entities = new Entities(this);
    this.posts = new EntityPosts(this);
    this.shardMap = options.shards === undefined ? null : joinClusterEntities(this, options.shards);
    this.migrations = this.#ctl.migrations(this.self);
    this.sampler = new TrafficSampler(this);
    this.fences = new Fences(this);
    this.moves = new Moves(this);
    this.#sends = new SendQueue(this);
    this.#arriving = new SpawnArrivals(this);
    this.#stopping = new Stopping(this);
    this.crossNode = this.self === 0 ? new NoCluster(this) : new WorkerRelay(this);
    runtime.beforeFlush = () => {
      // Main: which channels have subscribers, before any record leaves (a worker sees the bits first).
      if (this.self === 0) this.diagnostics.refresh();
      this.records.flushSpawns();
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

  offload(url: string, input: unknown, name = 'default'): Promise<unknown> {
    return this.#offload.run(url, name, input);
  }

  /** Ends this thread's offload pool (at shutdown). */
  closeOffload(): Promise<void> {
    return this.#offload.close();
  }

  isDead(thread: number): boolean {
    return this.#dead[thread] === 1;
  }

  /** Running or starting: a thread that can answer (not dead, not a dedicated slot never used). */
  isLive(thread: number): boolean {
    if (this.#dead[thread] === 1) return false;
    const state = this.#ctl.state(thread);
    return state === ThreadState.Running || state === ThreadState.Starting;
  }

  /** Where the actor behind `ref` lives now: it may have moved (moves.ts); the ref learns it. One load. */
  locate(ref: ActorRefImpl): number {
    return this.#learn(ref, locationIn(this.#byteOf(ref.key)));
  }

  /** The ref learns that its actor is on thread `at` (if at >= 0); returns where it is. */
  #learn(ref: ActorRefImpl, at: number): number {
    if (at >= 0 && at !== ref.thread) {
      ref.thread = at;
      ref.cell = undefined;
    }
    return ref.thread;
  }

  whenPlaced(ref: ActorRefImpl, then: () => void): void {
    if (!inTransitIn(this.#byteOf(ref.key))) {
      then();
      return;
    }
    // Its old thread settles the byte once its fence is answered, or its new thread is seen
    // dead: soon. Should the old thread die meanwhile too, `then` runs after PLACED_WAIT_MS.
    // Real time, not the system's clock: it waits on another thread (a manual clock in a test
    // would hold a thread's death notices until it was advanced).
    const until = performance.now() + PLACED_WAIT_MS;
    const poll = (): void => {
      if (inTransitIn(this.#byteOf(ref.key)) && performance.now() < until) setTimeout(poll, 2);
      else then();
    };
    setTimeout(poll, 2);
  }

  whereIs(known: number, key: number): number {
    const at = locationIn(this.#byteOf(key));
    return at >= 0 ? at : known;
  }

  unmoved(key: number): boolean {
    return this.#byteOf(key) === 0;
  }

  /** True while the actor `key` is on its way here: it moved here and has not arrived yet. */
  expecting(key: number): boolean {
    return locationIn(this.#byteOf(key)) === this.self && !this.cells.has(key);
  }

  /** The liveness byte of the actor `key` (runtime/liveness.ts: live where spawned, gone, or where it moved). One load. */
  #byteOf(key: number): number {
    const seq = Math.floor(key / KEY_SPAN);
    return this.liveness.byteOf(key - seq * KEY_SPAN, seq);
  }

  /** An actor the planner may move: nothing pins it, its placement was not given, it runs. */
  isPlannable(cell: Cell): boolean {
    return cell.status === 'running' && !cell.policy.placed && pinReason(cell, this) === null;
  }

  sendsWaitingFrom(cell: Cell): boolean {
    return this.#sends.waitingFrom(cell);
  }

  /** Moves the actor behind `ref` to thread `to` (moves.ts). */
  move(ref: ActorRefImpl, to: number): Promise<void> {
    return this.moves.move(ref, to);
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

  /** A decoded ref that names its system: this one's own actor, or one on another node. */
  remoteRef(systemId: string, nodeName: string, thread: number, key: number): ActorRefImpl {
    if (systemId === this.#systemId) return this.refFor(thread, key);
    return new RemoteRefImpl(this.crossNode, systemId, nodeName, thread, key);
  }

  get systemId(): string {
    return this.#systemId;
  }

  /** A decoded ref to an entity (entity/entity-ref.ts). */
  entityRef(address: EntityAddress): EntityRefImpl {
    return this.entities.entityRef(address);
  }

  /** A message from an entity's outbox to its target's thread (entity-send.ts). */
  readonly sendToEntity: SendToEntity = entitySender(this);

  /** A fresh actor key of this thread (an entity's activation takes one). */
  newKey(): number {
    const seq = ++this.#seq;
    this.liveness.reserve(seq);
    this.runtime.counters[STAT_SPAWN_SEQ] = seq;
    return seq * KEY_SPAN + this.self;
  }

  newContext(cell: Cell): Context {
    return new Context(cell);
  }

  /** What inspect() reports for each actor hosted here. */
  describe(): ActorInfo[] {
    return [...this.cells.values()].map((cell) => ({
      id: this.idOf(cell.key),
      name: cell.definition?.name ?? '',
      thread: this.self,
      status: cell.status,
      mailboxDepth: cell.depth,
      handled: cell.handled,
      failed: cell.failed,
      restarts: cell.restartCount,
      watchers: cell.watchers?.size ?? 0,
      moves: cell.moves,
      pinned: pinReason(cell, this),
    }));
  }

  /** A control notice to another thread; a dead thread gets none (nothing there can act on it). */
  control(thread: number, record: ControlRecord): void {
    if (this.#dead[thread] === 1) return;
    this.records.control(thread, record);
  }

  onControl(from: number, record: ControlRecord): void {
    dispatchControl(this, from, record);
  }

  /** Thread `thread` died (see recovery/thread-down.ts); with `ports`, a replacement takes its place. */
  threadDown(thread: number, death: DeathNotice, ports: { bigOut: MessagePort; bigIn: MessagePort } | null = null): PeerRecovery | null {
    this.crossNode.threadGone(thread); // its watches of actors on other nodes end with it
    return threadDown(this, thread, death, ports);
  }

  predecessorGone(key: number): void {
    predecessorGone(this, key);
  }

  // ---- spawn ----------------------------------------------------------------------------------

  /** `routeeOf`: a pool member's pool ([thread, id]). */
  spawn(definition: AnyDefinition, args: unknown, options: SpawnOptions | undefined, parent: Cell | null, routeeOf: readonly [number, number] | null = null): ActorRefImpl {
    if (!isDefinition(definition)) throw invalid('spawn(definition)', 'a definition made by defineActor', definition);
    if (isEntity(definition)) throw invalid('spawn(definition)', `an actor definition (${definition.name} is an entity: it is not spawned, its refs come from entity(definition, key))`, definition.name);
    let policy = resolvePolicy(options);
    if (routeeOf !== null) policy = { ...policy, routeeOf };
    // A placement given at spawn holds: the planner leaves the actor there (V4).
    const placement = options?.placement;
    if (placement !== undefined && placement !== 'balanced') policy = policy === DEFAULT_POLICY ? PLACED_POLICY : { ...policy, placed: true };
    const thread = placeActor(options?.placement, parent !== null, options?.resourceLimits, this.#placement);
    if (policy.supervision?.decide != null && thread !== this.self) {
      throw invalid('options.supervision.decide', "a function on the actor's own thread (for one placed elsewhere, put supervision in its definition)", policy.supervision.decide);
    }
    // Under a supervising parent, failures are reported to the parent instead of handled locally,
    // and the restarts it decides wait out the child's backoff, or else the parent's.
    const supervisor = parent === null ? null : parent.supervisor;
    if (supervisor !== null) policy = { ...policy, supervised: true, backoff: policy.backoff ?? supervisor.policy.backoff };
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
    this.liveness.reserve(seq);
    this.runtime.counters[STAT_SPAWN_SEQ] = seq;
    const parentThread = parent === null ? 0 : this.self;
    const parentKey = parent === null ? 0 : parent.key;
    const ref = this.refFor(thread, key);
    ref.name = definition.name;
    if (thread === this.self) {
      try {
        checkPayload(args, 'args'); // refused here as on the way to another thread (B1)
      } catch (error) {
        if (entry >= 0) this.bounds.free(entry);
        throw error;
      }
      const cell = new Cell(this, key, definition, args, parentThread, parentKey, policy);
      this.cells.set(key, cell);
      actorSpawned(this, key, definition.name, parentKey);
      cell.schedule();
      ref.cell = cell;
    } else {
      const record = this.remote.record(definition.moduleUrl, definition.name, args, parentThread, parentKey, policy === DEFAULT_POLICY ? null : policy);
      try {
        this.records.spawn(thread, key, parentKey, record);
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
    return this.#ask(ref, STARTED, undefined, undefined).then(() => ref); // not an ask of the user's: untraced
  }

  /** Another thread spawned an actor here (or restarts one here after its thread died). */
  spawnFromRecord(from: number, key: number, record: SpawnRecord): void {
    this.#arriving.spawn(from, key, record);
  }

  /** Resolves once the modules this thread is loading for spawned actors have loaded (or failed). */
  modulesLoaded(): Promise<void> {
    return this.#arriving.loaded();
  }

  // ---- sending --------------------------------------------------------------------------------

  /**
   * Refuses a message to `ref` by throwing (shutdown, a dead thread, an actor gone, a congested
   * ring). For an actor on another thread, its one load of the liveness byte also says where it
   * lives now, if it moved: the ref learns it. Returns false when that is this thread.
   */
  admit(ref: ActorRefImpl): boolean {
    if (this.admissionClosed && this.current === null) throw shuttingDown();
    if (ref.thread !== this.self) {
      // Its host marks an actor gone as it begins to stop: the same answer as on its own thread.
      // One load, one compare while the actor is live where it started (nearly always).
      const byte = this.#byteOf(ref.key);
      if (byte !== 0 && !this.#follow(ref, byte)) return false;
      if (this.#dead[ref.thread] === 1) throw new ActorStoppedError(`actor ${ref.id} was on thread ${ref.thread}, which died`);
      const stalled = this.runtime.isBacklogged(ref.thread) ? this.runtime.stalledFor(ref.thread) : 0;
      if (stalled > 0) {
        throw new MailboxFullError(
          `thread ${ref.thread} is not keeping up: it has taken nothing from its ring for ${Math.round(stalled)} ms while ${this.runtime.spillBytesTo(ref.thread)} bytes wait for it`,
        );
      }
    }
    return true;
  }

  /**
   * admit()'s rarer half, from the liveness byte it loaded: the actor is gone (throws) or moved
   * (the ref learns where; false if here). Every tell to an actor that ever moved comes here, so
   * it reads that one load again rather than the table three times.
   */
  #follow(ref: ActorRefImpl, byte: number): boolean {
    const at = locationIn(byte);
    if (at === -2) throw new ActorStoppedError(`actor ${ref.id} is stopped`);
    return this.#learn(ref, at) !== this.self; // it moved (moves.ts)
  }

  /** `receipt`: a correlation id for the receiving thread to confirm the message with (send with a messageId). */
  tell(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined, receipt = 0): void {
    // The plain tell, kept small enough to inline into its callers: no options, no receipt, no
    // trace on this thread, not from a dead-letter listener, not to an entity.
    if (options !== undefined || receipt !== 0 || typeof type !== 'string' || tracing() || this.deadLetters.inListener || ref.entity !== undefined) {
      this.#tellWith(ref, type, payload, options, receipt);
      return;
    }
    if (ref.thread === this.self) this.#tellLocal(ref, type, payload, 0, undefined, undefined);
    else this.#tellRemote(ref, type, payload, 0, undefined, 0, undefined);
    this.runtime.counters[STAT_ACCEPTED]!++;
  }

  #tellWith(ref: ActorRefImpl, type: string, payload: unknown, options: MessageOptions | undefined, receipt: number): void {
    if (typeof type !== 'string') throw invalid('tell(type)', 'a message type string', type);
    let priority = 0;
    let messageId: string | undefined;
    if (options !== undefined) {
      priority = priorityOf(options);
      messageId = options.messageId;
      if (messageId !== undefined && typeof messageId !== 'string') throw invalid('options.messageId', 'a string', messageId);
      // An entity remembers it in its store, under a key of bounded size.
      if (messageId !== undefined && ref.entity !== undefined && byteLength(messageId) > MAX_MESSAGE_ID_BYTES) throw invalid('options.messageId', `at most ${MAX_MESSAGE_ID_BYTES} bytes (UTF-8) for an entity`, messageId);
    }
    const trace = traceFor(options?.trace);
    // An entity's handler telling an entity: held for the handler's commit (entity/outbox.ts).
    if (receipt === 0 && ref.entity !== undefined && this.entities.hold(this.current, ref.entity, type, payload, trace)) return;
    if (this.deadLetters.inListener) priority |= QUIET;
    if (ref.thread !== this.self) this.#tellRemote(ref, type, payload, priority, messageId, receipt, trace);
    else if (ref.entity === undefined) this.#tellLocal(ref, type, payload, priority, messageId, trace);
    else this.#entityHere(ref, EnvelopeKind.Tell, type, payload, priority, messageId, trace, 0, receipt === 0 ? null : this.#receiptHere(receipt));
    this.runtime.counters[STAT_ACCEPTED]!++;
  }


  /** To an entity whose key lives on this thread (entity/entities.ts). */
  #entityHere(ref: ActorRefImpl, kind: EnvelopeKind.Tell | EnvelopeKind.Ask, type: string, payload: unknown, priority: number, messageId: string | undefined, trace: string | undefined, corr: number, receipt: Receipt | null): void {
    const sender = this.current;
    if (sender === null && this.admissionClosed) throw shuttingDown();
    checkPayload(payload);
    const senderKey = sender === null ? 0 : sender.key;
    this.entities.arrive(ref.entity!, { kind, type, payload, senderThread: this.self, senderKey, corr, priority, custody: 0, trace, messageId }, receipt);
  }

  /** A receipt for a send on this thread (send-queue.ts opened `corr`): settles it as one from another thread would. */
  #receiptHere(corr: number): Receipt {
    return (error, duplicate) => {
      if (error !== null) this.asks.reject(corr, error);
      else this.asks.resolve(corr, duplicate);
    };
  }

  /** Same thread: no ring, no dead thread, no congestion; only admission can refuse. */
  #tellLocal(ref: ActorRefImpl, type: string, payload: unknown, priority: number, messageId: string | undefined, trace: string | undefined): void {
    const sender = this.current;
    if (sender === null && this.admissionClosed) throw shuttingDown();
    // Keys are never reused, so a ref may keep the cell it found: no map lookup per tell.
    const cell = (ref.cell ??= this.cells.get(ref.key) ?? null) as Cell | null;
    if (cell === null || cell.ending) {
      this.#notRunningHere(ref, cell, type, payload, priority, messageId, trace);
      return;
    }
    checkPayload(payload); // refused here as it would be on its way to another thread
    const queue = cell.queue;
    if (queue !== null && queue.entry >= 0 && !queue.takeRoomHere()) this.#full(ref);
    const sampler = this.sampler;
    if (--sampler.localCountdown === 0) sampler.localEdge(sender === null ? 0 : sender.key, ref.key); // for the planner, one in 256 when it asks
    if (priority === 0 && messageId === undefined && trace === undefined) {
      cell.tell(type, payload, this.self, sender === null ? 0 : sender.key);
      return;
    }
    const env = new Envelope(EnvelopeKind.Tell, type, payload, this.self, sender === null ? 0 : sender.key, 0, priority, messageId);
    env.trace = trace;
    cell.enqueue(env);
  }

  /** A tell to another thread whose actor moved here (moves.ts): the same tell, on this thread. */
  #movedHere(ref: ActorRefImpl, type: string, payload: unknown, priority: number, messageId: string | undefined, receipt: number, trace: string | undefined): void {
    const before = this.runtime.counters[STAT_DUPLICATES]!;
    this.#tellLocal(ref, type, payload, priority, messageId, trace);
    if (receipt !== 0) this.asks.resolve(receipt, this.runtime.counters[STAT_DUPLICATES]! > before);
  }

  /**
   * A same-thread tell found no running cell: the actor moved away (a ref that held its cell
   * looks again, and the message follows it), is on its way here (held until it arrives), or
   * is stopped.
   */
  #notRunningHere(ref: ActorRefImpl, cell: Cell | null, type: string, payload: unknown, priority: number, messageId: string | undefined, trace: string | undefined): void {
    if (cell === null || cell.status === 'moved') {
      // What the ref holds may be out of date: the actor moved away, here, or back.
      const now = this.cells.get(ref.key);
      if (now !== undefined && now !== cell && !now.ending) {
        ref.cell = now;
        this.#tellLocal(ref, type, payload, priority, messageId, trace);
        return;
      }
      if (this.expecting(ref.key)) {
        checkPayload(payload);
        const entry = this.bounds.entryOf(ref.key);
        if (entry >= 0) this.#takeRoom(entry, ref); // a bounded mailbox on its way here: room as from any thread
        const sender = this.current;
        const env = new Envelope(EnvelopeKind.Tell, type, payload, this.self, sender === null ? 0 : sender.key, 0, priority, messageId);
        env.trace = trace;
        this.arrivals.hold(ref.key, env); // until it arrives (moves.ts)
        return;
      }
      if (this.locate(ref) !== this.self) {
        this.#tellRemote(ref, type, payload, priority, messageId, 0, trace);
        return;
      }
    }
    throw new ActorStoppedError(`actor ${ref.id} is stopped`);
  }

  /** Takes room in a bounded mailbox for one message, or throws MailboxFullError. */
  #takeRoom(entry: number, ref: ActorRefImpl): void {
    if (this.bounds.tryAcquire(entry, ref.key) === Admit.Full) this.#full(ref);
  }

  #full(ref: ActorRefImpl): never {
    this.runtime.counters[STAT_REJECTED]!++;
    throw new MailboxFullError(`the mailbox of actor ${ref.id} is full`);
  }

  #tellRemote(ref: ActorRefImpl, type: string, payload: unknown, priority: number, messageId: string | undefined, receipt: number, trace: string | undefined): void {
    if (!this.admit(ref)) {
      this.#movedHere(ref, type, payload, priority, messageId, receipt, trace);
      return;
    }
    const address = ref.entity;
    if (address !== undefined && this.posts.active) {
      // Stored here first, then told (entity-posts.ts).
      const sender = this.current;
      this.posts.post(EnvelopeKind.Tell, ref.thread, address, type, payload, priority, messageId, trace, sender === null ? 0 : sender.key, receipt);
      return;
    }
    if (messageId !== undefined) {
      // The id rides with the payload; a priority bit tells the host to unwrap it.
      payload = [messageId, payload];
      priority |= WIRE_MESSAGE_ID;
      if (receipt !== 0) priority |= WIRE_RECEIPT;
    }
    if (address !== undefined) {
      payload = [address, payload]; // the key's thread stores it and hands it to its activation
      priority |= WIRE_ENTITY;
      if (receipt !== 0) priority |= WIRE_RECEIPT; // answered once stored (a send resolves then)
    }
    if (trace !== undefined) {
      payload = [trace, payload]; // outermost: unwrapped first (inbound-records.ts)
      priority |= WIRE_TRACE;
    }
    const sender = this.current;
    const entry = this.bounds.entryOf(ref.key);
    if (entry < 0) {
      this.records.tell(ref.thread, ref.key, sender === null ? 0 : sender.key, priority, receipt, payload, type);
      return;
    }
    this.#takeRoom(entry, ref);
    try {
      this.records.tell(ref.thread, ref.key, sender === null ? 0 : sender.key, priority, receipt, payload, type);
    } catch (error) {
      this.bounds.release(entry);
      throw error;
    }
  }

  send(ref: ActorRefImpl, type: string, payload: unknown, options: SendOptions | undefined): Promise<SendResult> {
    return this.#sends.send(ref, type, payload, options);
  }

  ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    // Untraced, this costs the two reads (diagnostics.ts).
    if (ASK_START.hasSubscribers || ASK_END.hasSubscribers) return tracedAsk(this, ref, type, () => this.#askWith(ref, type, payload, options));
    return this.#askWith(ref, type, payload, options);
  }

  #askWith(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    const signal = options?.signal;
    if (signal === undefined) return this.#ask(ref, type, payload, options);
    if (!(signal instanceof AbortSignal)) return Promise.reject(invalid('options.signal', 'an AbortSignal', signal));
    if (signal.aborted) return Promise.reject(signal.reason); // nothing is sent
    const corr = this.asks.nextCorr;
    const promise = this.#ask(ref, type, payload, options);
    this.asks.abortWith(corr, promise, signal); // aborted later: the ask rejects at once
    return promise;
  }

  #ask(ref: ActorRefImpl, type: string, payload: unknown, options: AskOptions | undefined): Promise<unknown> {
    try {
      if (typeof type !== 'string') throw invalid('ask(type)', 'a message type string', type);
      const timeoutMs = options?.timeoutMs === undefined ? this.askTimeoutMs : validateNumber(options.timeoutMs, 'options.timeoutMs', 0, 2 ** 31);
      let priority = (options === undefined ? 0 : priorityOf(options)) | (this.deadLetters.inListener ? QUIET : 0);
      const trace = traceFor(options?.trace);
      this.admit(ref);
      const sender = this.current;
      const senderKey = sender === null ? 0 : sender.key;
      if (ref.thread === this.self && ref.entity !== undefined) {
        const { corr, promise } = this.asks.open(timeoutMs, ref, -1, type);
        try {
          this.#entityHere(ref, EnvelopeKind.Ask, type, payload, priority, undefined, trace, corr, null);
        } catch (error) {
          this.asks.reject(corr, error as Error);
          return promise;
        }
        this.runtime.counters[STAT_ACCEPTED]!++;
        return promise;
      }
      if (ref.thread === this.self) {
        const cell = this.cells.get(ref.key);
        // Not here: it moved away (asked where it is now), or is on its way here (held until it arrives).
        if (cell === undefined && !this.expecting(ref.key) && this.locate(ref) !== this.self) return this.#ask(ref, type, payload, options);
        if (cell === undefined ? !this.expecting(ref.key) : cell.ending) throw new ActorStoppedError(`actor ${ref.id} is stopped`);
        checkPayload(payload);
        const entry = cell === undefined ? this.bounds.entryOf(ref.key) : (cell.queue?.entry ?? -1);
        if (entry >= 0) this.#takeRoom(entry, ref);
        const { corr, promise } = this.asks.open(timeoutMs, ref, -1, type);
        const env = new Envelope(EnvelopeKind.Ask, type, payload, this.self, senderKey, corr, priority);
        env.trace = trace;
        if (cell === undefined) this.arrivals.hold(ref.key, env);
        else cell.enqueue(env);
        this.runtime.counters[STAT_ACCEPTED]!++;
        return promise;
      }
      const entry = this.bounds.entryOf(ref.key);
      if (entry >= 0) this.#takeRoom(entry, ref);
      const { corr, promise } = this.asks.open(timeoutMs, ref, ref.thread, type);
      const address = ref.entity;
      if (address !== undefined && this.posts.active) {
        try {
          this.posts.post(EnvelopeKind.Ask, ref.thread, address, type, payload, priority, undefined, trace, senderKey, corr);
        } catch (error) {
          this.asks.reject(corr, error as Error);
          return promise;
        }
        this.runtime.counters[STAT_ACCEPTED]!++;
        return promise;
      }
      if (address !== undefined) {
        payload = [address, payload];
        priority |= WIRE_ENTITY;
      }
      if (trace !== undefined) {
        payload = [trace, payload];
        priority |= WIRE_TRACE;
      }
      try {
        this.records.ask(ref.thread, ref.key, senderKey, priority, corr, payload, type);
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

  /** An accepted message that will not be handled: one dead letter, and its ask is answered. */
  deadLetter(env: Envelope, recipientKey: number, reason: DeadLetterReason, error?: Error, deliveryCount = 1): void {
    this.outcomes.deadLetter(env, recipientKey, reason, error, deliveryCount);
  }

  lateReply(env: Envelope, value: unknown): void {
    this.outcomes.lateReply(env, value);
  }

  noRoutee(type: string, payload: unknown): void {
    this.outcomes.noRoutee(type, payload);
  }

  /** A timer of `cell` fell due: the actor sends itself the message (counted like any tell). */
  timerFired(cell: Cell, type: string, payload: unknown): void {
    if (cell.ending) return;
    // A timer the actor set itself is never refused, but it occupies room like any message.
    if (cell.queue !== null && cell.queue.entry >= 0) this.bounds.add(cell.queue.entry);
    cell.enqueue(new Envelope(EnvelopeKind.Tell, type, payload, this.self, cell.key, 0));
    this.runtime.counters[STAT_ACCEPTED]!++;
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

  // ---- stopping (stopping.ts) ---------------------------------------------------------------

  /** Stops any actor by ref; `graceful`: after what it already accepted; `kill`: an abnormal exit. */
  stopRef(ref: ActorRefImpl, graceful = false, kill = false): Promise<void> {
    if (isRemoteRef(ref)) return this.crossNode.stop(ref, kill ? 'kill' : graceful ? 'graceful' : 'stop');
    if (ref.entity !== undefined) return Promise.reject(invalid('stop(ref)', `a ref to an actor (${ref.id} is an entity: it leaves memory by itself when idle)`, ref.id));
    return this.#stopping.stopRef(ref, graceful, kill);
  }

  stopCell(cell: Cell, reason: 'normal' | 'failed' | 'shutdown' | 'killed'): Promise<void> {
    return this.#stopping.stopCell(cell, reason);
  }

  stopChildren(cell: Cell): Promise<void> {
    return this.#stopping.stopChildren(cell);
  }

  /** Stops these actors of this thread one at a time, in this order (stopping.ts); resolves with how many overran `timeoutMs`. */
  stopInOrder(keys: readonly number[], timeoutMs: number, handleHeld: boolean): Promise<number> {
    return this.#stopping.stopInOrder(keys, timeoutMs, handleHeld);
  }

  /** Stops every top-level actor, in order (stop-all.ts); resolves with how many overran `timeoutMs`. */
  stopTopLevel(timeoutMs: number, handleHeld: boolean): Promise<number> {
    return stopTopLevel(this, timeoutMs, handleHeld);
  }

  /** A first start failed: the actor stops; what was sent to it is answered or dead-lettered. */
  startFailed(cell: Cell, error: Error): void {
    this.#stopping.startFailed(cell, error);
  }

  /** At the end of a shutdown with forced stops: what those actors held becomes dead letters. */
  abandonAll(): void {
    this.#stopping.abandonAll();
  }

  // ---- what the spawner's side asks of the host (recovery/remote-spawns.ts) ---------------------

  directive(child: ActorRefImpl, verb: 'resume' | 'restart' | 'halt' | 'start'): Promise<unknown> {
    return this.supervision.directive(child, verb);
  }

  now(): number {
    return this.clock.now();
  }
}

function shuttingDown(): ShuttingDownError {
  return new ShuttingDownError('the system is shutting down: no new messages from outside actors');
}
