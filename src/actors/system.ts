// The actor system: starts the worker threads, hosts the main thread's node (the guardian of
// top-level actors), and shuts everything down in order: close admission, drain, stop actors
// (children first, newest first), end the threads.

import { nanoid } from 'nanoid';
import { ShuttingDownError } from '../errors.js';
import type { ActorInfo } from '../runtime/control.js';
import {
  CTL_ACTORS,
  CTL_F64_BASE,
  CTL_I32,
  CTL_PARKED,
  CTL_STATE,
  RING_R,
  RING_W,
  STAT_ACCEPTED,
  STAT_BUSY_NS,
  STAT_DEAD_LETTERS,
  STAT_FAILED,
  STAT_FIELDS,
  STAT_HANDLED,
  STAT_MSGS_IN,
  STAT_MSGS_OUT,
  STAT_OTHER_DEAD,
  STAT_SINCE,
  STAT_REJECTED,
  STAT_DUPLICATES,
  STAT_SPILLED,
  STAT_SPILL_BYTES,
  STAT_LONGEST_TURN_MS,
  STAT_UNHANDLED_REJECTIONS,
  STAT_DL_QUIET,
  CTL_F64_CURRENT,
  CTL_HEARTBEAT,
  RecordKind,
  STAT_SPAWN_SEQ,
  STAT_RING_IN,
  STAT_RING_OUT,
  STAT_DL_OUTBOUND,
  STAT_RETURNED,
  ThreadState,
} from '../runtime/layout.js';
import { ready, startSpare, startWorker, startWorkers, stopWorkers, type OnExit, type WorkerHandle } from '../runtime/thread-pool.js';
import { definedModules } from './define.js';
import { transfer } from 'comlink';
import type { DeathNotice, PeerRecovery } from '../runtime/control.js';
import type { StreamJoin } from '../runtime/thread-runtime.js';
import { ThreadRuntime, type RuntimeTuning } from '../runtime/thread-runtime.js';
import { createTopology, type Topology } from '../runtime/topology.js';
import { createBoundsTable } from '../runtime/bounds-table.js';
import { invalid, validateNumber, validateObject } from '../validate.js';
import { ActorRefImpl } from './actor-ref.js';
import { metricsText } from './metrics.js';
import { Pool, resolvePoolOptions } from './pool.js';
import { ActorNode } from './node.js';
import { checkRef } from './actor-ref.js';
import { resolveSystemOptions, type ResolvedSystemOptions, type SystemOptions } from './options.js';
import type { ActorPool, PoolOptions, ActorRef, AnyDefinition, ArgsOf, DeadLetter, MessageOptions, ResourceLimits, SpawnOptions } from './types.js';

export interface ThreadStats {
  readonly thread: number;
  readonly actors: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly accepted: number;
  readonly handled: number;
  readonly failed: number;
  readonly deadLetters: number;
  /** Tells and asks refused because a bounded mailbox was full (never accepted: not dead letters). */
  readonly rejected: number;
  /**
   * Of deadLetters, the replies that found no asker (late-reply): not accepted messages, so the
   * conservation law reads accepted = handled + (deadLetters - lateReplies) + duplicates.
   */
  readonly lateReplies: number;
  /** Tells dropped as duplicates by dedup (accepted, then settled without being handled). */
  readonly duplicates: number;
  readonly spilled: number;
  /** Bytes this thread holds in its sender-side spills right now (rings were full). */
  readonly spillBytes: number;
  /** The longest scheduler slice so far, in ms: a long handler shows here before it is a stall. */
  readonly longestTurnMs: number;
  /** Worker threads: promises rejected with no handler (counted and survived, not fatal). */
  readonly unhandledRejections: number;
  /** Of deadLetters, those of messages that dead-letter listeners sent: counted, not reported to them (no loops). */
  readonly listenerDeadLetters: number;
  /** Bytes waiting in the rings into this thread. */
  readonly ringBytesUsed: number;
  /** Share of wall time spent in scheduler turns since the thread started, 0..1. */
  readonly busyRatio: number;
  readonly parked: boolean;
  /** False while the thread is dead: after it exited unexpectedly, until its replacement runs. */
  readonly alive: boolean;
  /** Times this thread died and was replaced. */
  readonly replaced: number;
}

export interface SystemStats {
  readonly threads: readonly ThreadStats[];
  readonly accepted: number;
  readonly handled: number;
  readonly failed: number;
  readonly deadLetters: number;
  readonly lateReplies: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly listenerDeadLetters: number;
  /** With options.spareThread: whether the spare is ready to take a dead thread's place, and how often one did. */
  readonly spare: { readonly ready: boolean; readonly used: number } | null;
}

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

export interface DeadLetterStream {
  /** Calls `listener` for every dead letter from now on; returns the unsubscribe function. */
  subscribe(listener: (letter: DeadLetter) => void): () => void;
}

/** A thread that dies more often than this within REPLACEMENT_WINDOW_MS is not replaced again. */
const MAX_REPLACEMENTS = 10;
const REPLACEMENT_WINDOW_MS = 60_000;

export class ActorSystem {
  readonly options: ResolvedSystemOptions;
  readonly deadLetters: DeadLetterStream;
  readonly #topology: Topology;
  readonly #runtime: ThreadRuntime;
  readonly #node: ActorNode;
  readonly #workers: WorkerHandle[];
  readonly #topLevel: ActorRefImpl[] = [];
  readonly #listeners = new Set<(letter: DeadLetter) => void>();
  readonly #stats: Float64Array[];
  #shutdown: Promise<ShutdownReport> | null = null;
  #closing = false;
  #died = 0;
  /** Why the watchdog ended a thread, by thread. */
  readonly #stalled = new Map<number, string>();
  #watchdog: NodeJS.Timeout | null = null;
  /** What every worker boots with; and the exit handler a replacement gets. */
  readonly #boot: object;
  readonly #onExit: OnExit;
  /** Thread replacements in progress, one at a time. */
  #recovering: Promise<void> = Promise.resolve();
  /** When each thread was replaced (the last minute's worth): a thread that keeps dying is given up. */
  readonly #replaced: number[][];
  readonly #replacedTotal: number[] = [];
  /** Dedicated thread slots in use, with their resource limits. */
  readonly #limits = new Map<number, ResourceLimits | undefined>();
  /** The spare worker (options.spareThread), and the slot it became once it did. */
  #spare: { handle: Omit<WorkerHandle, 'thread'>; slot: { thread: number | null }; ready: boolean } | null = null;
  #sparesUsed = 0;
  /** Messages already dead-lettered as lost with each thread (its counters carry on in its replacement). */
  readonly #declaredLost: number[] = [];
  #finished!: (report: ShutdownReport) => void;
  readonly #done = new Promise<ShutdownReport>((resolve) => (this.#finished = resolve));
  readonly #onSignal = (): void => void this.shutdown();

  /** Use createSystem(). */
  constructor(
    options: ResolvedSystemOptions,
    topology: Topology,
    runtime: ThreadRuntime,
    node: ActorNode,
    workers: WorkerHandle[],
    exits: { onExit: OnExit; boot: object },
  ) {
    this.options = options;
    this.#topology = topology;
    this.#runtime = runtime;
    this.#node = node;
    this.#workers = workers;
    this.#stats = Array.from({ length: topology.threadCount }, (_, t) => new Float64Array(topology.ctl, t * CTL_I32 * 4 + CTL_F64_BASE * 8, STAT_FIELDS));
    exits.onExit = (thread, code, error) => this.#threadExited(thread, code, error);
    this.#boot = exits.boot;
    this.#onExit = exits.onExit;
    this.#replaced = new Array<number[]>(topology.threadCount).fill([]).map(() => []);
    node.onDedicated = (limits) => this.#startDedicated(limits);
    if (options.spareThread) this.#startSpare();
    if (options.stallTimeoutMs > 0) this.#startWatchdog(options.stallTimeoutMs);
    for (const signal of options.handleSignals) process.on(signal, this.#onSignal);
    node.deadLetters.onDeadLetter = (letter) => {
      for (const listener of this.#listeners) {
        try {
          listener(letter);
        } catch {
          // A failing subscriber must not break delivery to the others.
        }
      }
    };
    this.deadLetters = {
      subscribe: (listener) => {
        this.#listeners.add(listener);
        node.deadLetters.watch(true);
        return () => {
          this.#listeners.delete(listener);
          if (this.#listeners.size === 0) node.deadLetters.watch(false);
        };
      },
    };
  }

  /**
   * A worker exited while the system ran (an uncaught error, process.exit() in a handler, out of
   * memory, or the stall watchdog). A replacement takes its place behind the same refs.
   */
  #threadExited(thread: number, code: number, error: Error | null): void {
    if (this.#closing) return;
    this.#died++;
    const ctl = new Int32Array(this.#topology.ctl);
    Atomics.store(ctl, thread * CTL_I32 + CTL_STATE, ThreadState.Dead);
    const stalled = this.#stalled.get(thread);
    this.#stalled.delete(thread);
    const oom = (error as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const death: DeathNotice = {
      kind: stalled !== undefined ? 'stalled' : oom ? 'oom' : 'thread-exit',
      code,
      message: `thread ${thread} ${stalled ?? (oom ? `ran out of memory (exit code ${code})` : `exited with code ${code}`)}`,
    };
    this.#recovering = this.#recovering.then(() => this.#replace(thread, death)).catch((failure: unknown) => {
      process.emitWarning(`troupe: thread ${thread} could not be replaced: ${String((failure as Error)?.stack ?? failure)}`);
    });
  }

  /**
   * Every live thread settles what waited on the dead one and says how a replacement joins its
   * ring to it (and which of the dead thread's actors it will restart); then the replacement
   * starts on the same rings, and those actors start there again behind their refs. A thread
   * that died more than MAX_REPLACEMENTS times in a minute is given up: its actors are gone.
   */
  async #replace(thread: number, death: DeathNotice): Promise<void> {
    if (this.#closing) return;
    const now = performance.now();
    const recent = this.#replaced[thread]!.filter((t) => now - t < REPLACEMENT_WINDOW_MS);
    this.#replaced[thread] = recent;
    const live = this.#workers.filter((w) => w.thread !== thread && this.#up(w.thread));
    if (recent.length >= MAX_REPLACEMENTS) {
      this.#node.deadLetters.threadCrash(thread, lostMessages(this.#custody(thread, 0)));
      this.#node.threadDown(thread, death);
      for (const w of live) this.#runtime.send(w.thread, RecordKind.Control, 0, 0, 0, 0, ['thread-down', thread, death]);
      return;
    }
    recent.push(now);
    this.#replacedTotal[thread] = (this.#replacedTotal[thread] ?? 0) + 1;
    const { wiring, peers } = this.#topology.rewire(thread);
    const threads = this.#topology.threadCount;
    const joins: (StreamJoin | null)[] = new Array<StreamJoin | null>(threads).fill(null);
    const lastSpawnSeq = new Array<number>(threads).fill(0);
    const pending: number[] = [];
    let replicas = 0;
    const take = (from: number, r: PeerRecovery | null): void => {
      if (r === null) return;
      joins[from] = r.join;
      lastSpawnSeq[from] = r.spawnSeq;
      pending.push(...r.pending);
      replicas += r.replicas;
    };
    take(0, this.#node.threadDown(thread, death, peers[0]));
    const answers = await Promise.all(
      live.map((w) => {
        const ports = peers[w.thread]!;
        return Promise.race([w.control.threadDown(thread, death, transfer(ports, [ports.bigOut, ports.bigIn])), w.exited.then(() => null)]);
      }),
    );
    live.forEach((w, i) => take(w.thread, answers[i]!));
    // What it held, less the ack-mode messages whose copies go again from their spawners.
    this.#node.deadLetters.threadCrash(thread, lostMessages(this.#custody(thread, replicas)));
    if (this.#closing) return;
    const seqBase = this.#stats[thread]![STAT_SPAWN_SEQ]!;
    const recovery = { joins, pending, lastSpawnSeq, seqBase };
    const limits = this.#limits.get(thread);
    const spare = limits === undefined ? this.#spare : null; // a dedicated thread's limits need a fresh start
    let handle: WorkerHandle;
    if (spare !== null && spare.ready) {
      // Ready (still importing, it would be slower than a fresh start: then it waits for the next death).
      this.#spare = null;
      this.#sparesUsed++;
      spare.slot.thread = thread; // its exit from now on is this thread's
      handle = { thread, ...spare.handle };
      this.#workers[this.#workers.findIndex((w) => w.thread === thread)] = handle;
      await Promise.race([spare.handle.control.become(transfer(wiring, this.#topology.portsOf(wiring)), recovery), spare.handle.exited]);
      this.#startSpare();
      return;
    }
    handle = startWorker(this.#topology, wiring, { ...this.#boot, recovery }, this.#onExit, limits);
    this.#workers[this.#workers.findIndex((w) => w.thread === thread)] = handle;
    await ready(handle);
  }

  /** Starts a spare worker (options.spareThread) that imports the actor modules known here and waits. */
  #startSpare(): void {
    if (this.#closing || this.#shutdown !== null) return;
    const slot: { thread: number | null } = { thread: null };
    const handle = startSpare({ ...this.#boot, preload: definedModules() }, (code, error) => {
      if (slot.thread !== null) this.#onExit(slot.thread, code, error);
      else if (this.#spare?.handle === handle) this.#spare = null; // a spare that died unused is not replaced
    });
    const spare = { handle, slot, ready: false };
    this.#spare = spare;
    ready(handle).then(
      () => (spare.ready = true),
      () => undefined,
    );
  }

  /**
   * The stall watchdog (W8): a worker that is neither parked nor moving its heartbeat for
   * stallTimeoutMs (a handler stuck in a loop) is terminated, and its death handled as a crash
   * whose cause says 'stalled' and names the actor that was running.
   */
  #startWatchdog(limitMs: number): void {
    const ctl = new Int32Array(this.#topology.ctl);
    const seen = new Map<number, { beat: number; since: number }>();
    this.#watchdog = setInterval(
      () => {
        const now = performance.now();
        for (const w of this.#workers) {
          const base = w.thread * CTL_I32;
          if (!this.#up(w.thread) || this.#stalled.has(w.thread)) {
            seen.delete(w.thread); // a replacement starts with a clean slate
            continue;
          }
          const beat = Atomics.load(ctl, base + CTL_HEARTBEAT);
          const last = seen.get(w.thread);
          if (last === undefined) {
            // First sight (a start or a replacement, which may still be importing actor
            // modules, its event loop busy): one more period's grace.
            seen.set(w.thread, { beat, since: now + limitMs });
            continue;
          }
          if (Atomics.load(ctl, base + CTL_PARKED) === 1 || last.beat !== beat) {
            seen.set(w.thread, { beat, since: now });
            continue;
          }
          if (now - last.since < limitMs) continue;
          const key = new Float64Array(this.#topology.ctl, base * 4 + CTL_F64_CURRENT * 8, 1)[0]!;
          this.#stalled.set(w.thread, `stalled: no progress for ${Math.round(now - last.since)} ms${key > 0 ? ` in actor ${this.#node.idOf(key)}` : ''}`);
          void w.worker.terminate();
        }
      },
      Math.max(10, limitMs / 4),
    );
    this.#watchdog.unref();
  }

  /**
   * User messages in a dead thread's custody when it died, from its last published counters: it
   * took them from its rings or accepted them itself, and had not handled, dead-lettered or
   * written them into a ring. (Work done after its last publish never reached another thread:
   * it counts as not done.) Each is counted once, over the thread's replacements.
   */
  #custody(thread: number, copied: number): number {
    const c = this.#stats[thread]!;
    const held = c[STAT_RING_IN]! + c[STAT_ACCEPTED]! - c[STAT_RING_OUT]! - c[STAT_RETURNED]! - c[STAT_HANDLED]! - (c[STAT_DEAD_LETTERS]! - c[STAT_DL_OUTBOUND]!) - c[STAT_DUPLICATES]!;
    const accounted = this.#declaredLost[thread] ?? 0;
    const lost = Math.max(0, held - accounted - copied);
    this.#declaredLost[thread] = accounted + lost + copied;
    return lost;
  }

  /**
   * Claims a free dedicated thread slot and starts its worker with `limits`; returns the slot at
   * once (what is sent there waits in its rings until the worker reads them).
   */
  #startDedicated(limits: ResourceLimits | undefined): number {
    const first = this.options.threads + 1;
    for (let slot = first; slot < this.#topology.threadCount; slot++) {
      if (this.#limits.has(slot)) continue;
      this.#limits.set(slot, limits);
      const handle = startWorker(this.#topology, this.#topology.wiringFor(slot), this.#boot, this.#onExit, limits);
      this.#workers.push(handle);
      ready(handle).catch(() => undefined); // dying while it starts is handled as any death
      return slot;
    }
    throw invalid('options.placement', `a free dedicated thread (all ${this.options.dedicatedThreads} are taken: raise the system's dedicatedThreads)`, 'dedicated');
  }

  /** True while a worker runs (not dead, and not between a death and its replacement). */
  #up(thread: number): boolean {
    const state = Atomics.load(new Int32Array(this.#topology.ctl), thread * CTL_I32 + CTL_STATE);
    return state !== ThreadState.Dead && state !== ThreadState.Unused && !this.#node.isDead(thread);
  }

  /** Worker threads (main not counted). */
  get threads(): number {
    return this.#workers.length;
  }

  spawn<D extends AnyDefinition>(definition: D, args: ArgsOf<D>, options?: SpawnOptions): ActorRef<D> {
    if (this.#shutdown !== null) throw new ShuttingDownError('the system is shutting down: no new actors');
    const ref = this.#node.spawn(definition, args, options, null);
    this.#topLevel.push(ref);
    return ref as unknown as ActorRef<D>;
  }

  /**
   * spawn(), resolving with the ref once the actor's init and onStart have completed; rejects
   * with ActorInitializationError if they fail (the actor is then stopped).
   */
  async start<D extends AnyDefinition>(definition: D, args: ArgsOf<D>, options?: SpawnOptions): Promise<ActorRef<D>> {
    const ref = this.spawn(definition, args, options); // a top-level actor: stopped at shutdown
    await this.#node.whenStarted(ref as unknown as ActorRefImpl);
    return ref;
  }

  /** Subscribes an actor to a topic; with a group, one member of the group gets each message. */
  subscribe(topic: string, ref: ActorRef<AnyDefinition>, options?: { group?: string }): void {
    this.#node.subscribe(topic, ref as unknown as ActorRefImpl, options?.group);
  }

  unsubscribe(topic: string, ref: ActorRef<AnyDefinition>, options?: { group?: string }): void {
    this.#node.unsubscribe(topic, ref as unknown as ActorRefImpl, options?.group);
  }

  /** A copy to each plain subscriber and to one member of each group; returns how many. */
  publish(topic: string, type: string, payload?: unknown, options?: MessageOptions): number {
    return this.#node.publish(topic, type, payload, options);
  }

  /** A pool of `options.size` members of `definition`, one handle routing each message to one. */
  spawnPool<D extends AnyDefinition>(definition: D, args: ArgsOf<D>, options: PoolOptions): ActorPool<D> {
    const { size, routing, spawn } = resolvePoolOptions(options);
    const member = (routeeOf: readonly [number, number]): ActorRefImpl => {
      if (this.#shutdown !== null) throw new ShuttingDownError('the system is shutting down: no new actors');
      const ref = this.#node.spawn(definition, args, spawn, null, routeeOf);
      this.#topLevel.push(ref);
      return ref;
    };
    return new Pool(this.#node, member, size, routing) as unknown as ActorPool<D>;
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

  /** Per-thread counters read from shared memory: costs no messages. */
  stats(): SystemStats {
    this.#runtime.flush(); // this thread's own counters and sends, published now
    const ctl = new Int32Array(this.#topology.ctl);
    const now = performance.now();
    const threads: ThreadStats[] = this.#stats.map((s, thread) => {
      let ringBytesUsed = 0;
      for (const row of this.#topology.rings) {
        const ring = row[thread];
        if (ring === null || ring === undefined) continue;
        const cursors = new Int32Array(ring, 0, 64);
        ringBytesUsed += (Atomics.load(cursors, RING_W) - Atomics.load(cursors, RING_R)) | 0;
      }
      const elapsed = Math.max(1, now - s[STAT_SINCE]!);
      return {
        thread,
        actors: ctl[thread * CTL_I32 + CTL_ACTORS]!,
        messagesIn: s[STAT_MSGS_IN]!,
        messagesOut: s[STAT_MSGS_OUT]!,
        accepted: s[STAT_ACCEPTED]!,
        handled: s[STAT_HANDLED]!,
        failed: s[STAT_FAILED]!,
        deadLetters: s[STAT_DEAD_LETTERS]! + s[STAT_OTHER_DEAD]!,
        lateReplies: s[STAT_OTHER_DEAD]!,
        rejected: s[STAT_REJECTED]!,
        duplicates: s[STAT_DUPLICATES]!,
        spilled: s[STAT_SPILLED]!,
        spillBytes: s[STAT_SPILL_BYTES]!,
        longestTurnMs: s[STAT_LONGEST_TURN_MS]!,
        unhandledRejections: s[STAT_UNHANDLED_REJECTIONS]!,
        listenerDeadLetters: s[STAT_DL_QUIET]!,
        ringBytesUsed,
        busyRatio: Math.min(1, s[STAT_BUSY_NS]! / elapsed),
        parked: Atomics.load(ctl, thread * CTL_I32 + CTL_PARKED) === 1,
        alive: ![ThreadState.Dead, ThreadState.Unused].includes(Atomics.load(ctl, thread * CTL_I32 + CTL_STATE)),
        replaced: this.#replacedTotal[thread] ?? 0,
      };
    });
    const sum = (f: (t: ThreadStats) => number): number => threads.reduce((a, t) => a + f(t), 0);
    return {
      threads,
      accepted: sum((t) => t.accepted),
      handled: sum((t) => t.handled),
      failed: sum((t) => t.failed),
      deadLetters: sum((t) => t.deadLetters),
      lateReplies: sum((t) => t.lateReplies),
      rejected: sum((t) => t.rejected),
      duplicates: sum((t) => t.duplicates),
      listenerDeadLetters: sum((t) => t.listenerDeadLetters),
      spare: this.options.spareThread ? { ready: this.#spare?.ready ?? false, used: this.#sparesUsed } : null,
    };
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

  /** Per-actor detail from every thread, over the control plane. */
  async inspect(): Promise<ActorInfo[]> {
    const local = this.#node.describe();
    const remote = await Promise.all(this.#workers.filter((w) => this.#up(w.thread)).map((w) => Promise.race([w.control.inspect(), w.exited.then(() => [])])));
    return [...local, ...remote.flat()];
  }

  /** Accepted messages not yet handled or dead-lettered, across all threads. */
  #unsettled(): number {
    let settledBefore = 0;
    for (const s of this.#stats) settledBefore += s[STAT_HANDLED]! + s[STAT_DEAD_LETTERS]! + s[STAT_DUPLICATES]!;
    let accepted = 0;
    for (const s of this.#stats) accepted += s[STAT_ACCEPTED]!;
    let settledAfter = 0;
    for (const s of this.#stats) settledAfter += s[STAT_HANDLED]! + s[STAT_DEAD_LETTERS]! + s[STAT_DUPLICATES]!;
    return settledBefore === settledAfter ? accepted - settledAfter : Number.POSITIVE_INFINITY;
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
    while (this.#unsettled() > 0) {
      if (performance.now() >= deadline) return false;
      if (this.#died > 0) {
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
    this.#shutdown = this.#runShutdown(drainMs).then((report) => {
      for (const signal of this.options.handleSignals) process.off(signal, this.#onSignal);
      this.#finished(report);
      return report;
    });
    return this.#shutdown;
  }

  /** Resolves with the report once the system has shut down, whatever started the shutdown. */
  whenShutdown(): Promise<ShutdownReport> {
    return this.#done;
  }

  async #runShutdown(drainMs: number): Promise<ShutdownReport> {
    const node = this.#node;
    node.admissionClosed = true;
    // Publish what this thread sent in the current synchronous run (and its counters) before
    // judging whether anything is in flight.
    this.#runtime.flush();
    await this.#drain(drainMs);
    node.stopReason = 'shutdown';
    await this.#recovering; // a replacement under way finishes first
    const live = this.#workers.filter((w) => this.#up(w.thread));
    await Promise.all(live.map((w) => w.control.beginShutdown()));
    let forced = 0;
    for (const ref of this.#topLevel.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        node.stopRef(ref).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.options.shutdownTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) forced++;
    }
    this.#topLevel.length = 0;
    // Let the last dead letters and stop replies land before the threads go.
    await this.#drain(Math.min(drainMs, 1000));
    this.#closing = true; // from here on, workers exiting is the plan
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    const spare = this.#spare;
    this.#spare = null;
    if (spare !== null) await spare.handle.worker.terminate();
    await stopWorkers(this.#workers, this.options.shutdownTimeoutMs);
    node.abandonAll();
    await node.closeOffload();
    await this.#runtime.close();
    node.asks.rejectAll(() => new ShuttingDownError('the system shut down before the reply came'));
    let processed = 0;
    let deadLettered = 0;
    for (const s of this.#stats) {
      processed += s[STAT_HANDLED]!;
      deadLettered += s[STAT_DEAD_LETTERS]!;
    }
    return { processed, deadLettered, forced };
  }
}

/** Starts the worker threads; resolves when they are ready. */
export async function createSystem(options?: SystemOptions): Promise<ActorSystem> {
  const resolved = resolveSystemOptions(options);
  const threadCount = resolved.threads + 1 + resolved.dedicatedThreads;
  const topology = createTopology(threadCount, resolved.ringBytes);
  const tuning: RuntimeTuning = {
    sliceMs: resolved.sliceMs,
    spinMicros: resolved.spinMicros,
    spillHighWaterBytes: resolved.spillHighWaterBytes,
    maxMessageBytes: resolved.maxMessageBytes,
  };
  const systemId = nanoid(12);
  const bounds = createBoundsTable(threadCount, resolved.boundedMailboxes);
  const boot = { tuning, systemId, bounds, askTimeoutMs: resolved.askTimeoutMs, offloadThreads: resolved.offloadThreads, workers: resolved.threads };
  const ctl = new Int32Array(topology.ctl);
  for (let slot = resolved.threads + 1; slot < threadCount; slot++) Atomics.store(ctl, slot * CTL_I32 + CTL_STATE, ThreadState.Unused);
  const exits: { onExit: OnExit; boot: object } = { onExit: () => {}, boot };
  const runtime = new ThreadRuntime(topology.wiringFor(0), tuning);
  const node = new ActorNode(runtime, {
    systemId,
    clock: resolved.clock,
    ctl: topology.ctl,
    bounds,
    defaultAskTimeoutMs: resolved.askTimeoutMs,
    offloadThreads: resolved.offloadThreads,
    workers: resolved.threads,
  });
  runtime.start(node.inbound);
  const workers = await startWorkers(topology, resolved.threads, () => boot, (thread, code, error) => exits.onExit(thread, code, error));
  return new ActorSystem(resolved, topology, runtime, node, workers, exits);
}

/** Messages that died with a thread's memory: only how many is known, not what they were. */
function lostMessages(count: number): string[] {
  return new Array<string>(count).fill('');
}
