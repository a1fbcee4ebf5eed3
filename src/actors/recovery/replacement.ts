// The main thread's side of a thread's death: a worker that exits while the system runs (an
// uncaught error, process.exit() in a handler, out of memory, or the stall watchdog) is replaced
// behind the same refs. Every live thread settles what waited on the dead one and says how the
// replacement joins its ring (thread-down.ts); the replacement, a spare started ahead when there
// is one, starts on the same rings; and what the dead thread held in its own memory is counted
// and dead-lettered. Dedicated threads start here too, each with its own resource limits.

import { transfer } from 'comlink';
import type { ControlBlock } from '../../runtime/control-block.js';
import type { DeathNotice, PeerRecovery } from '../../runtime/control.js';
import {
  STAT_ACCEPTED,
  STAT_DEAD_LETTERS,
  STAT_DL_OUTBOUND,
  STAT_DUPLICATES,
  STAT_HANDLED,
  STAT_RETURNED,
  STAT_RING_IN,
  STAT_RING_OUT,
  STAT_STORED,
  STAT_SPAWN_SEQ,
  ThreadState,
} from '../../runtime/layout.js';
import { ready, startSpare, startWorker, type OnExit, type WorkerHandle } from '../../runtime/thread-pool.js';
import type { StreamJoin } from '../../runtime/thread-runtime.js';
import type { Topology } from '../../runtime/topology.js';
import { Watchdog } from '../../runtime/watchdog.js';
import { CustodyLog } from '../../runtime/custody-log.js';
import { invalid } from '../../validate.js';
import { definedModules } from '../define.js';
import { threadExited, threadReplaced } from '../diagnostics.js';
import type { ActorNode } from '../node/node.js';
import type { ResourceLimits } from '../types.js';

/** A thread that dies more often than this within REPLACEMENT_WINDOW_MS is not replaced again. */
const MAX_REPLACEMENTS = 10;
const REPLACEMENT_WINDOW_MS = 60_000;

export interface ReplacementOptions {
  readonly workers: number;
  readonly dedicatedThreads: number;
  readonly spareThread: boolean;
  readonly stallTimeoutMs: number;
}

export class ThreadReplacement {
  readonly #options: ReplacementOptions;
  readonly #topology: Topology;
  readonly #ctl: ControlBlock;
  readonly #node: ActorNode;
  readonly #workers: WorkerHandle[];
  /** What every worker boots with; and the exit handler a replacement gets. */
  readonly #boot: object;
  readonly #onExit: OnExit;
  /** Why the watchdog ended a thread, by thread. */
  readonly #stalled = new Map<number, string>();
  readonly #watchdog: Watchdog | null = null;
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
  /** Set once the system closes: workers exiting from then on is the plan. */
  #closing = false;
  #shuttingDown = false;
  /** Deaths so far. */
  died = 0;

  constructor(options: ReplacementOptions, topology: Topology, ctl: ControlBlock, node: ActorNode, workers: WorkerHandle[], exits: { onExit: OnExit; boot: object }) {
    this.#options = options;
    this.#topology = topology;
    this.#ctl = ctl;
    this.#node = node;
    this.#workers = workers;
    exits.onExit = (thread, code, error) => this.#threadExited(thread, code, error);
    this.#boot = exits.boot;
    this.#onExit = exits.onExit;
    this.#replaced = Array.from({ length: topology.threadCount }, () => []);
    node.onDedicated = (limits) => this.#startDedicated(limits);
    if (options.spareThread) this.#startSpare();
    if (options.stallTimeoutMs > 0) {
      // W8: a worker neither parked nor moving its heartbeat is ended; its death names the actor.
      this.#watchdog = new Watchdog({
        control: ctl,
        limitMs: options.stallTimeoutMs,
        threads: () => this.#workers.map((w) => w.thread),
        isUp: (thread) => this.up(thread) && !this.#stalled.has(thread),
        onStall: (thread, running, stalledMs) => {
          this.#stalled.set(thread, `stalled: no progress for ${Math.round(stalledMs)} ms${running > 0 ? ` in actor ${node.idOf(running)}` : ''}`);
          void this.#workers.find((w) => w.thread === thread)?.worker.terminate();
        },
      });
      this.#watchdog.start();
    }
  }

  /** Resolves once the replacement under way (if any) has finished. */
  get settled(): Promise<void> {
    return this.#recovering;
  }

  /** Times each thread died and was replaced. */
  replacedCount(thread: number): number {
    return this.#replacedTotal[thread] ?? 0;
  }

  /** With options.spareThread: whether the spare is ready to take a dead thread's place, and how often one did. */
  get spare(): { ready: boolean; used: number } | null {
    return this.#options.spareThread ? { ready: this.#spare?.ready ?? false, used: this.#sparesUsed } : null;
  }

  /** True while a worker runs (not dead, and not between a death and its replacement). */
  up(thread: number): boolean {
    const state = this.#ctl.state(thread);
    return state !== ThreadState.Dead && state !== ThreadState.Unused && !this.#node.isDead(thread);
  }

  /** Shutdown began: no spare is started any more. */
  shuttingDown(): void {
    this.#shuttingDown = true;
  }

  /** The end of a shutdown: from here on, workers exiting is the plan. Ends the spare. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#watchdog?.stop();
    const spare = this.#spare;
    this.#spare = null;
    if (spare !== null) await spare.handle.worker.terminate();
  }

  #threadExited(thread: number, code: number, error: Error | null): void {
    if (this.#closing) return;
    this.died++;
    this.#ctl.setState(thread, ThreadState.Dead);
    const stalled = this.#stalled.get(thread);
    this.#stalled.delete(thread);
    const oom = (error as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const death: DeathNotice = {
      kind: stalled !== undefined ? 'stalled' : oom ? 'oom' : 'thread-exit',
      code,
      message: `thread ${thread} ${stalled ?? (oom ? `ran out of memory (exit code ${code})` : `exited with code ${code}`)}`,
    };
    threadExited(thread, code, error, death.kind);
    this.#recovering = this.#recovering.then(() => this.#replace(thread, death)).catch((failure: unknown) => {
      this.#node.diagnostics.report('error', `troupe: thread ${thread} could not be replaced: ${String((failure as Error)?.stack ?? failure)}`);
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
    const node = this.#node;
    const now = performance.now();
    const recent = this.#replaced[thread]!.filter((t) => now - t < REPLACEMENT_WINDOW_MS);
    this.#replaced[thread] = recent;
    const live = this.#workers.filter((w) => w.thread !== thread && this.up(w.thread));
    if (recent.length >= MAX_REPLACEMENTS) {
      node.deadLetters.threadCrash(thread, lostMessages(this.#custody(thread, 0, 0)));
      node.threadDown(thread, death);
      for (const w of live) node.runtime.sendControl(w.thread, ['thread-down', thread, death]);
      return;
    }
    recent.push(now);
    this.#replacedTotal[thread] = (this.#replacedTotal[thread] ?? 0) + 1;
    const rewired = this.#topology.rewire(thread);
    const peers = rewired.peers;
    let wiring = rewired.wiring;
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
    take(0, node.threadDown(thread, death, peers[0]));
    const answers = await Promise.all(
      live.map((w) => {
        const ports = peers[w.thread]!;
        return Promise.race([w.control.threadDown(thread, death, transfer(ports, [ports.bigOut, ports.bigIn])), w.exited.then(() => null)]);
      }),
    );
    live.forEach((w, i) => take(w.thread, answers[i]!));
    // A peer that died meanwhile took its ends of the new channels with it, and a MessagePort
    // closes with its other end: the replacement gets fresh ones to that peer (whose own
    // replacement is given the other ends when it is rewired in turn).
    if (answers.some((answer) => answer === null)) {
      live.forEach((w, i) => {
        if (answers[i] === null) this.#topology.reopen(thread, w.thread);
      });
      wiring = this.#topology.wiringFor(thread);
    }
    // What it held, less the ack-mode messages whose copies go again from their spawners, and
    // less what its custody log kept: the replacement takes that up (runtime/custody-log.ts).
    const log = this.#topology.custody[thread];
    const logged = log === null || log === undefined ? 0 : new CustodyLog(log).pendingMessages();
    node.deadLetters.threadCrash(thread, lostMessages(this.#custody(thread, replicas, logged)));
    if (this.#closing) return;
    const seqBase = this.#ctl.stats(thread)[STAT_SPAWN_SEQ]!;
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
      if (this.up(thread)) threadReplaced(thread, true);
      return;
    }
    handle = startWorker(this.#topology, wiring, { ...this.#boot, recovery }, this.#onExit, limits);
    this.#workers[this.#workers.findIndex((w) => w.thread === thread)] = handle;
    await ready(handle);
    threadReplaced(thread, false);
  }

  /** Starts a spare worker (options.spareThread) that imports the actor modules known here and waits. */
  #startSpare(): void {
    if (this.#closing || this.#shuttingDown) return;
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
   * User messages in a dead thread's custody when it died, from its last published counters: it
   * took them from its rings or accepted them itself, and had not handled, dead-lettered or
   * written them into a ring. (Work done after its last publish never reached another thread:
   * it counts as not done.) Each is counted once, over the thread's replacements. `copied`: held
   * as copies on their spawners' threads, which send them again (counted in once more there);
   * `logged`: kept in its custody log, which its replacement reads on (counted in once).
   */
  #custody(thread: number, copied: number, logged: number): number {
    const c = this.#ctl.stats(thread);
    // Less what it handed to the entity store and had not finished: its replacement takes that up.
    const held = c[STAT_RING_IN]! + c[STAT_ACCEPTED]! - c[STAT_RING_OUT]! - c[STAT_RETURNED]! - c[STAT_HANDLED]! - (c[STAT_DEAD_LETTERS]! - c[STAT_DL_OUTBOUND]!) - c[STAT_DUPLICATES]! - c[STAT_STORED]!;
    const accounted = this.#declaredLost[thread] ?? 0;
    const lost = Math.max(0, held - accounted - copied - logged);
    this.#declaredLost[thread] = accounted + lost + copied;
    return lost;
  }

  /**
   * Claims a free dedicated thread slot and starts its worker with `limits`; returns the slot at
   * once (what is sent there waits in its rings until the worker reads them).
   */
  #startDedicated(limits: ResourceLimits | undefined): number {
    const first = this.#options.workers + 1;
    for (let slot = first; slot < this.#topology.threadCount; slot++) {
      if (this.#limits.has(slot)) continue;
      this.#limits.set(slot, limits);
      const handle = startWorker(this.#topology, this.#topology.wiringFor(slot), this.#boot, this.#onExit, limits);
      this.#workers.push(handle);
      ready(handle).catch(() => undefined); // dying while it starts is handled as any death
      return slot;
    }
    throw invalid('options.placement', `a free dedicated thread (all ${this.#options.dedicatedThreads} are taken: raise the system's dedicatedThreads)`, 'dedicated');
  }
}

/** Messages that died with a thread's memory: only how many is known, not what they were. */
function lostMessages(count: number): string[] {
  return new Array<string>(count).fill('');
}
