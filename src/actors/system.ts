// The actor system: starts the worker threads, hosts the main thread's node (the guardian of
// top-level actors), and shuts everything down in order: close admission, drain, stop actors
// (children first, newest first), end the threads. A facade: stats are read in stats.ts, and a
// thread's death is handled in recovery/replacement.ts.

import { checkLocalRef } from './remote-ref.js';
import { nanoid } from 'nanoid';
import { ActorInitializationError, ShuttingDownError } from '../errors.js';
import { Planner, plannerOptions } from './planner/planner.js';
import { createBoundsTable } from '../runtime/bounds-table.js';
import { createLivenessTables } from '../runtime/liveness.js';
import { ControlBlock } from '../runtime/control-block.js';
import type { ActorInfo } from '../runtime/control.js';
import { STAT_DEAD_LETTERS, STAT_HANDLED, ThreadState } from '../runtime/layout.js';
import { startWorkers, stopWorkers, type OnExit, type WorkerHandle } from '../runtime/thread-pool.js';
import { ThreadRuntime, type RuntimeTuning } from '../runtime/thread-runtime.js';
import { workerThreadImporting } from '../runtime/thread-role.js';
import { createTopology, type Topology } from '../runtime/topology.js';
import { WakeAudit } from '../runtime/wake-audit.js';
import { invalid, validateNumber, validateObject, validateString } from '../validate.js';
import type { Cluster } from '../cluster/cluster.js';
import { checkRef, type ActorRefImpl } from './actor-ref.js';
import { DeadLetterFeed, type DeadLetterStream } from './dead-letter-stream.js';
import { metricsText } from './metrics.js';
import { serviceHandle } from './node/cross-node.js';
import { ActorNode } from './node/node.js';
import { openLmdbStore } from './entity/lmdb-store.js';
import { ShardMap } from './entity/shard-map.js';
import { storeConfig } from './cluster-options.js';
import { resolveSystemOptions, type ResolvedSystemOptions, type SystemOptions } from './options.js';
import { Pool, resolvePoolOptions } from './pool.js';
import { ThreadReplacement } from './recovery/replacement.js';
import { readStats, readTraffic, unsettled, type SystemStats, type TrafficSample } from './stats.js';
import { isDefinition } from './define.js';
import { trace, tracing } from './debug-log.js';
import { log } from './logger.js';
import type { ActorPool, ActorRef, ActorService, AnyDefinition, AnyEntityDefinition, ArgsOf, MessageOptions, PoolOptions, SpawnArgs, SpawnOptions } from './types.js';

export type { SystemStats, ThreadStats, Traffic } from './stats.js';
export type { DeadLetterStream } from './dead-letter-stream.js';

export interface ShutdownReport {
  /** Messages handled (completed or failed) over the system's life. */
  readonly processed: number;
  /** Accepted messages that became dead letters. */
  readonly deadLettered: number;
  /** Actors whose stop overran shutdownTimeoutMs. */
  readonly forced: number;
}

export interface ShutdownOptions {
  readonly drainMs?: number;
}


export class ActorSystem {
  readonly options: ResolvedSystemOptions;
  readonly deadLetters: DeadLetterStream;
  readonly #topology: Topology;
  readonly #ctl: ControlBlock;
  readonly #runtime: ThreadRuntime;
  readonly #node: ActorNode;
  readonly #workers: WorkerHandle[];
  readonly #replacement: ThreadReplacement;
  #shutdown: Promise<ShutdownReport> | null = null;
  /** Settles as shutdown() begins (what waits for every thread's answer stops waiting then). */
  #shutdownBegins: () => void = () => undefined;
  readonly #shutdownBegan = new Promise<void>((resolve) => (this.#shutdownBegins = resolve));
  #cluster: Cluster | null = null;
  /** The traffic between threads at the last stats(): its rates are measured from there. */
  #traffic: TrafficSample = { at: performance.now(), messages: [] };
  /** Moves actors by their traffic and the threads' load (planner/planner.ts), with options.planner. */
  readonly #planner: Planner | null = null;
  /** Moves asked for and not over: shutdown lets them end first. */
  readonly #moving = new Set<Promise<void>>();
  /** Finds a thread asleep with messages waiting (a missed wake-up), wakes it and counts it (runtime/wake-audit.ts). */
  readonly #audit: WakeAudit;
  /** Missed wake-ups the audit found, by thread. */
  readonly #lateWakes: number[] = [];
  #finished!: (report: ShutdownReport) => void;
  readonly #done = new Promise<ShutdownReport>((resolve) => (this.#finished = resolve));
  readonly #onSignal = (): void => void this.shutdown();

  /** Use createSystem(). @internal (kept out of the published types: they would name the machinery) */
  constructor(
    options: ResolvedSystemOptions,
    topology: Topology,
    ctl: ControlBlock,
    runtime: ThreadRuntime,
    node: ActorNode,
    workers: WorkerHandle[],
    exits: { onExit: OnExit; boot: object },
  ) {
    this.options = options;
    this.#topology = topology;
    this.#ctl = ctl;
    this.#runtime = runtime;
    this.#node = node;
    this.#workers = workers;
    this.#replacement = new ThreadReplacement(
      { workers: options.threads, dedicatedThreads: options.dedicatedThreads, spareThread: options.spareThread, stallTimeoutMs: options.stallTimeoutMs },
      topology,
      ctl,
      node,
      workers,
      exits,
    );
    for (const signal of options.handleSignals) process.on(signal, this.#onSignal);
    this.#audit = new WakeAudit({
      control: ctl,
      unread: (thread) => topology.unreadBytesInto(thread),
      threads: () => [0, ...this.#workers.map((w) => w.thread)],
      isUp: (thread) => thread === 0 || this.#replacement.up(thread),
      onLate: (thread, bytes) => {
        const late = (this.#lateWakes[thread] = (this.#lateWakes[thread] ?? 0) + 1);
        if (tracing) trace(`thread ${thread}: woken by the wake-up audit, ${bytes} bytes waiting (a missed wake-up)`);
        if (late === 1) log(options.logger, 'error', `troupe: thread ${thread} slept with ${bytes} bytes of messages waiting in its rings; the wake-up audit woke it. A missed wake-up is a bug in troupe (counted in stats() as lateWakes).`);
      },
    });
    this.#audit.start();
    if (options.planner !== null) {
      this.#planner = new Planner(node, ctl, plannerOptions(options.planner.intervalMs, options.planner.cooldownMs, options.planner.main), (from, to) => topology.messagesBetween(from, to));
      this.#planner.start();
    }
    const feed = new DeadLetterFeed((on) => node.deadLetters.watch(on), this.#done);
    node.deadLetters.onDeadLetter = (letter) => feed.deliver(letter);
    this.deadLetters = feed;
  }

  /** The cluster this system is a node of (createSystem({ cluster })): its members and their comings and goings; null without one. */
  get cluster(): Cluster | null {
    return this.#cluster;
  }

  /** @internal createSystem joins the cluster once the threads run. */
  joined(cluster: Cluster): void {
    this.#cluster = cluster;
  }

  /** Worker threads (main not counted). */
  get threads(): number {
    return this.#workers.length;
  }

  spawn<D extends AnyDefinition>(definition: D, ...[args, options]: SpawnArgs<D>): ActorRef<D> {
    if (this.#shutdown !== null) throw new ShuttingDownError('the system is shutting down: no new actors');
    return this.#node.spawn(definition, args, this.#onThisNode(options), null) as unknown as ActorRef<D>;
  }

  /** Spawn options whose placement names this node: placed as on any system; another node's is left for placeActor to refuse. */
  #onThisNode(options: SpawnOptions | undefined): SpawnOptions | undefined {
    const placement = options?.placement;
    if (typeof placement !== 'object' || placement === null || !('node' in placement) || placement.node !== this.#cluster?.name) return options;
    return { ...options, placement: placement.thread === undefined ? 'balanced' : { thread: placement.thread } };
  }

  /**
   * spawn(), resolving with the ref once the actor's init and onStart have completed; rejects
   * with ActorInitializationError if they fail (the actor is then stopped).
   */
  async start<D extends AnyDefinition>(definition: D, ...[args, options]: SpawnArgs<D>): Promise<ActorRef<D>> {
    let placement = (options as SpawnOptions | undefined)?.placement;
    if (placement === 'cluster') {
      if (this.#cluster === null) throw invalid('options.placement', "'cluster' in a system that is a node of a cluster (createSystem({ cluster }))", placement);
      // The node with the fewest actors per thread: this one (placed as 'balanced'), or another.
      const picked = this.#cluster.pick();
      placement = picked.self ? 'balanced' : { node: picked.name };
      options = { ...(options as SpawnOptions), placement } as typeof options;
    }
    if (typeof placement === 'object' && placement !== null && 'node' in placement && this.#cluster !== null && placement.node !== this.#cluster.name) {
      // On another node: found there by its name, started there (a top-level actor of that node).
      if (this.#shutdown !== null) throw new ShuttingDownError('the system is shutting down: no new actors');
      if (!isDefinition(definition)) throw invalid('start(definition)', 'an actor definition (defineActor)', definition);
      const there: SpawnOptions = { ...(options as SpawnOptions), placement: placement.thread === undefined ? 'balanced' : { thread: placement.thread } };
      return (await this.#cluster.startOn(placement.node, definition, args, there)) as unknown as ActorRef<D>;
    }
    const ref = this.spawn(definition, ...([args, options] as SpawnArgs<D>)); // a top-level actor: stopped at shutdown
    await this.#node.whenStarted(ref as unknown as ActorRefImpl);
    return ref;
  }

  /**
   * Gives a live actor a name, system-wide (Erlang's register): `lookup(name)` finds it from any
   * thread until it stops, when the name is free again. A name held by a live actor is refused
   * with InvalidArgumentError.
   */
  register(name: string, ref: ActorRef<AnyDefinition>): void {
    this.#node.names.register(name, ref as unknown as ActorRefImpl);
  }

  /**
   * The live actor registered under `name`, if any (Erlang's whereis). In a cluster, a name not
   * registered on this node is looked up on the others; `{ node }` looks on that node only.
   */
  lookup<D extends AnyDefinition = AnyDefinition>(name: string, options?: { node?: string }): Promise<ActorRef<D> | undefined> {
    const node = options?.node;
    if (node === undefined) return this.#node.names.lookup(name) as unknown as Promise<ActorRef<D> | undefined>;
    try {
      validateString(node, 'options.node');
      if (this.#cluster === null) throw invalid('options.node', 'a node of the cluster (this system is in none)', node);
      validateString(name, 'lookup(name)');
    } catch (error) {
      return Promise.reject(error);
    }
    if (node === this.#cluster.name) return Promise.resolve(this.#node.names.here(name) as unknown as ActorRef<D> | undefined);
    return this.#cluster.find(name, node) as unknown as Promise<ActorRef<D> | undefined>;
  }

  /**
   * A ref to the one activation of `key` of an entity (defineEntity), from any thread: started on
   * its first message on the thread its key picks, out of memory when idle, its state kept.
   */
  entity<D extends AnyEntityDefinition>(definition: D, key: string): ActorRef<D> {
    return this.#node.entities.ref(definition, key) as unknown as ActorRef<D>;
  }

  /** Subscribes an actor to a topic; with a group, one member of the group gets each message. */
  subscribe(topic: string, ref: ActorRef<AnyDefinition>, options?: { group?: string }): void {
    this.#node.topics.subscribe(topic, ref as unknown as ActorRefImpl, options?.group);
  }

  unsubscribe(topic: string, ref: ActorRef<AnyDefinition>, options?: { group?: string }): void {
    this.#node.topics.unsubscribe(topic, ref as unknown as ActorRefImpl, options?.group);
  }

  /** A copy to each plain subscriber and to one member of each group; returns how many. */
  publish(topic: string, type: string, payload?: unknown, options?: MessageOptions): number {
    return this.#node.topics.publish(topic, type, payload, options);
  }

  /** A pool of `options.size` members of `definition`, one handle routing each message to one. */
  spawnPool<D extends AnyDefinition>(definition: D, args: ArgsOf<D>, options: PoolOptions): ActorPool<D> {
    const { size, routing, spawn, service } = resolvePoolOptions(options);
    const cluster = this.#cluster;
    if (service !== null) {
      if (cluster === null) throw invalid('options.service', 'a pool in a system that is a node of a cluster (createSystem({ cluster }))', service);
      if (cluster.serves(service)) throw invalid('options.service', `a name no other pool of this node serves (${JSON.stringify(service)} is served here)`, service);
    }
    const member = (routeeOf: readonly [number, number]): ActorRefImpl => {
      if (this.#shutdown !== null) throw new ShuttingDownError('the system is shutting down: no new actors');
      return this.#node.spawn(definition, args, spawn, null, routeeOf);
    };
    const pool = new Pool(this.#node, member, size, routing);
    if (service !== null) {
      cluster!.serve(service, pool);
      pool.onStop = () => cluster!.unserve(service, pool);
    }
    return pool as unknown as ActorPool<D>;
  }

  /**
   * In a cluster: the pools that serve the cluster under `name` (spawnPool with `service`), on
   * whichever nodes they are. Each call goes to one member of one of them; with none anywhere, a
   * tell is a `no-routee` dead letter and an ask or send rejects with ActorStoppedError.
   */
  service<D extends AnyDefinition = AnyDefinition>(name: string): ActorService<D> {
    validateString(name, 'service(name)');
    const cluster = this.#cluster;
    if (cluster === null) throw invalid('service(name)', 'a system that is a node of a cluster (createSystem({ cluster }))', name);
    return serviceHandle(this.#node.crossNode, name) as unknown as ActorService<D>;
  }

  /**
   * Stops the actor and its children; resolves when its onStop ran. With `graceful`, the stop
   * waits its turn behind every message accepted before it.
   */
  stop(ref: ActorRef<AnyDefinition>, options?: { graceful?: boolean }): Promise<void> {
    try {
      checkRef(ref, 'stop(ref)');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#node.stopRef(ref, options?.graceful === true);
  }

  /**
   * Stops the actor at once with reason 'killed': an abnormal exit, so actors linked to it fail
   * (or, trapping exits, hear of it). Its children stop first, as in any stop.
   */
  kill(ref: ActorRef<AnyDefinition>): Promise<void> {
    try {
      checkRef(ref, 'kill(ref)');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#node.stopRef(ref, false, true);
  }

  /**
   * Moves the actor to thread `thread` behind the same ref: its state, queued messages (in
   * order), timers, watchers, what it watches, its links and its topic subscriptions go with it; what is sent to it
   * meanwhile waits and follows, in order per sender. Resolves once it runs there. It moves between handlers (an
   * async handler finishes first). Rejects with ActorPinnedError, saying why, if it cannot move
   * (its state would not arrive unchanged, or ack mode or dedup tie it to its thread: a
   * bounded mailbox and pool membership go with it); inspect() says so too. Its children move with it, and its
   * supervision of them; a child alone does not move.
   */
  move(ref: ActorRef<AnyDefinition>, thread: number): Promise<void> {
    try {
      checkLocalRef(ref, 'move(ref)');
      if (this.#node.admissionClosed) throw new ShuttingDownError('the system is shutting down: no actor moves now');
    } catch (error) {
      return Promise.reject(error);
    }
    const moving = this.#node.move(ref, thread);
    this.#moving.add(moving);
    const done = (): void => void this.#moving.delete(moving);
    moving.then(done, done);
    return moving;
  }

  /** Per-thread counters read from shared memory: costs no messages. */
  stats(): SystemStats {
    this.#runtime.flush(); // this thread's own counters and sends, published now
    const storage = this.options.storage === null ? null : { bytes: this.#node.entities.storeBytes() };
    const { traffic, sample } = readTraffic(this.#topology, this.#traffic);
    this.#traffic = sample;
    return readStats(this.#ctl, this.#topology, { replaced: (thread) => this.#replacement.replacedCount(thread), lateWakes: (thread) => this.#lateWakes[thread] ?? 0 }, this.#replacement.spare, traffic, storage);
  }

  /** stats() in Prometheus text exposition format, one sample per thread per metric. */
  metricsText(): string {
    return metricsText(this.stats());
  }

  /**
   * Calls `listener` with a stats() snapshot every `intervalMs` until the returned function is
   * called or the system shuts down. The timer does not keep the process alive.
   */
  statsEvery(intervalMs: number, listener: (stats: SystemStats) => void): () => void {
    validateNumber(intervalMs, 'statsEvery(intervalMs)', 1, 2 ** 31 - 1);
    const timer = setInterval(() => {
      if (this.#shutdown !== null) {
        clearInterval(timer);
        return;
      }
      listener(this.stats());
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Per-actor detail from every thread, over the control plane. A fence first: the control plane
   * would overtake spawns still on their way in the rings, and an actor spawned before the call
   * would be missing. Not once shutdown has begun: a thread that ends then answers no fence.
   */
  async inspect(): Promise<ActorInfo[]> {
    if (this.#shutdown === null) await Promise.race([this.#node.fences.fence(), this.#shutdownBegan]);
    const local = this.#node.describe();
    const remote = await Promise.all(this.#workers.filter((w) => this.#replacement.up(w.thread)).map((w) => Promise.race([w.control.inspect(), w.exited.then(() => [])])));
    return [...local, ...remote.flat()];
  }

  /**
   * Resolves when every accepted message has been handled or dead-lettered (or at the deadline).
   * After a thread died the books still balance (what it held is dead-lettered by count), but a
   * death between a thread's counter publish and its ring publish could leave them off by one
   * for good: then it is also enough that every live worker is parked with empty rings and no
   * counter has moved for 20 ms.
   */
  async #drain(drainMs: number): Promise<boolean> {
    const deadline = performance.now() + drainMs;
    let quietSince = -1;
    let last = '';
    while (unsettled(this.#ctl, this.#topology.threadCount) > 0) {
      if (performance.now() >= deadline) return false;
      if (this.#replacement.died > 0) {
        const s = this.stats();
        const live = s.threads.filter((t) => t.thread !== 0 && t.alive);
        const idle = live.every((t) => t.parked && t.ringBytesUsed === 0);
        const now = `${s.accepted}/${s.handled}/${s.deadLetters}`;
        if (!idle || now !== last) quietSince = performance.now();
        last = now;
        if (performance.now() - quietSince >= 20) return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return true;
  }

  /**
   * Stops admission from outside actors, drains accepted messages (bounded by drainMs), stops
   * actors children-first and newest-first, ends the threads. Idempotent.
   */
  shutdown(options?: ShutdownOptions): Promise<ShutdownReport> {
    if (this.#shutdown !== null) return this.#shutdown;
    if (options !== undefined) validateObject(options, 'options');
    const drainMs = options?.drainMs === undefined ? this.options.drainMs : validateNumber(options.drainMs, 'options.drainMs', 0, 2 ** 31);
    this.#replacement.shuttingDown();
    this.#shutdownBegins();
    this.#shutdown = this.#runShutdown(drainMs).then((report) => {
      for (const signal of this.options.handleSignals) process.off(signal, this.#onSignal);
      this.#finished(report);
      return report;
    });
    return this.#shutdown;
  }

  /**
   * `await using system = await createSystem()`: the system shuts down when the scope ends,
   * however it ends. (A system never shut down keeps the process running.)
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  /** Resolves with the report once the system has shut down, whatever started the shutdown. */
  whenShutdown(): Promise<ShutdownReport> {
    return this.#done;
  }

  async #runShutdown(drainMs: number): Promise<ShutdownReport> {
    const node = this.#node;
    node.admissionClosed = true;
    // Pools serving the cluster stop taking its calls (what NATS already routed here is taken,
    // and refused as from outside: dead letters, reason shutdown).
    if (this.#cluster !== null) await this.#cluster.stopServing(Math.min(drainMs, 5000));
    // Publish what this thread sent in the current synchronous run (and its counters) before
    // judging whether anything is in flight.
    this.#runtime.flush();
    // No new moves; one under way ends first (the actor then stops where it arrived).
    this.#planner?.close();
    await this.#planner?.idle();
    await Promise.allSettled([...this.#moving]);
    await node.posts.settled(); // what main is storing for entities is stored, and told
    const drained = await this.#drain(drainMs);
    node.stopReason = 'shutdown';
    await this.#replacement.settled; // a replacement under way finishes first
    const live = this.#workers.filter((w) => this.#replacement.up(w.thread));
    await Promise.all(live.map((w) => w.control.beginShutdown()));
    // Newest first on each thread, the threads in parallel; children before their parents.
    const forced = await node.stopTopLevel(this.options.shutdownTimeoutMs, drained);
    // Let the last dead letters and stop replies land before the threads go.
    await this.#drain(Math.min(drainMs, 1000));
    // What actors sent to other nodes is handed over, then the others see this node leave.
    await this.#cluster?.close(Math.min(drainMs, 5000));
    this.#audit.stop(); // threads that end may leave their rings as they are
    await this.#replacement.close(); // from here on, workers exiting is the plan
    await stopWorkers(this.#workers, this.options.shutdownTimeoutMs);
    node.abandonAll();
    await node.closeOffload();
    await node.entities.close();
    await this.#runtime.close();
    node.diagnostics.close();
    node.asks.rejectAll(() => new ShuttingDownError('the system shut down before the reply came'));
    let processed = 0;
    let deadLettered = 0;
    for (let t = 0; t < this.#topology.threadCount; t++) {
      processed += this.#ctl.stats(t)[STAT_HANDLED]!;
      deadLettered += this.#ctl.stats(t)[STAT_DEAD_LETTERS]!;
    }
    return { processed, deadLettered, forced };
  }
}

/** Starts the worker threads; resolves when they are ready. */
export async function createSystem(options?: SystemOptions): Promise<ActorSystem> {
  const worker = workerThreadImporting();
  if (worker !== undefined) {
    // A module that defines actors was also the program that starts the system: every worker
    // that imports it to host one of its actors would start a system of its own.
    const which = worker.module === null ? 'a module' : worker.module;
    throw new ActorInitializationError(
      `createSystem() was called on a troupe worker thread, by ${which}: it defines actors and also starts the system, so every worker that imports it would start another. ` +
        'Define actors in a module of their own (not the program that calls createSystem), or start the system only where isMainThread is true.',
    );
  }
  const resolved = resolveSystemOptions(options);
  const threadCount = resolved.threads + 1 + resolved.dedicatedThreads;
  const topology = createTopology(threadCount, resolved.ringBytes);
  const tuning: RuntimeTuning = {
    sliceMs: resolved.sliceMs,
    spinMicros: resolved.spinMicros,
    spillHighWaterBytes: resolved.spillHighWaterBytes,
    spillStallMs: resolved.spillStallMs,
    maxMessageBytes: resolved.maxMessageBytes,
  };
  const systemId = nanoid(12);
  const bounds = createBoundsTable(threadCount, resolved.boundedMailboxes);
  const liveness = createLivenessTables(threadCount);
  // The store is opened here first: a directory that cannot hold it is refused before any thread starts.
  const store = resolved.storage === null ? null : await openLmdbStore(resolved.storage.path, resolved.storage.durability);
  const clustered = resolved.cluster !== null;
  // In a cluster, where each entity shard lives (written by main, read by every thread) and how a thread opens the shared store.
  const shards = resolved.cluster === null ? undefined : { map: new ShardMap(resolved.cluster.shards).buffer, store: storeConfig(resolved.cluster) };
  const boot = { tuning, systemId, bounds, liveness, askTimeoutMs: resolved.askTimeoutMs, offloadThreads: resolved.offloadThreads, workers: resolved.threads, storage: resolved.storage, clustered, shards };
  const ctl = new ControlBlock(topology.ctl);
  for (let slot = resolved.threads + 1; slot < threadCount; slot++) ctl.setState(slot, ThreadState.Unused);
  const exits: { onExit: OnExit; boot: object } = { onExit: () => {}, boot };
  const runtime = new ThreadRuntime(topology.wiringFor(0), tuning);
  const node = new ActorNode(runtime, {
    systemId,
    clock: resolved.clock,
    ctl: topology.ctl,
    bounds,
    liveness,
    defaultAskTimeoutMs: resolved.askTimeoutMs,
    offloadThreads: resolved.offloadThreads,
    workers: resolved.threads,
    clustered,
    logger: resolved.logger,
    ...(shards === undefined ? {} : { shards }),
  });
  if (store !== null) {
    void node.entities.useStore(Promise.resolve(store));
    if (!clustered) node.posts.use(store); // main stores what it sends to entities itself
  }
  runtime.start(node.inbound);
  const workers = await startWorkers(topology, resolved.threads, () => boot, (thread, code, error) => exits.onExit(thread, code, error));
  const system = new ActorSystem(resolved, topology, ctl, runtime, node, workers, exits);
  if (resolved.cluster !== null) {
    // Loaded only here: a system without a cluster never loads NATS.
    try {
      const { joinCluster } = await import('../cluster/cluster.js');
      const load = (): number => {
        let actors = 0;
        for (let t = 0; t < threadCount; t++) actors += ctl.actors(t);
        return actors;
      };
      system.joined(await joinCluster(resolved.cluster, node, resolved.threads, resolved.logger, load));
    } catch (error) {
      await system.shutdown({ drainMs: 0 });
      throw error;
    }
  }
  if (store !== null) {
    // Each worker opens the same store and takes up the stored messages of the keys that live there.
    try {
      await Promise.all(workers.map((w) => w.control.whenReady()));
    } catch (error) {
      await system.shutdown({ drainMs: 0 });
      throw error;
    }
  }
  return system;
}
