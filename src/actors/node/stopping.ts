// Stopping an actor: its children first (in parallel, or newest first when a start failed),
// then onStop, then the end of every stop: the cell is forgotten, what its mailbox held becomes
// dead letters (or goes back to its pool in ack mode), its watchers and linked actors hear of it,
// it leaves its topics, and its parent forgets it. A stop of an actor on another thread is a
// Stop record answered once the stop there is complete.

import { ActorStoppedError, ActorInitializationError } from '../../errors.js';
import { takeRedeliveries } from '../cell/ack-mode.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Cell } from '../cell/cell.js';
import type { DeathWatch } from './death-watch.js';
import { actorStopped } from '../diagnostics.js';
import { Envelope, EnvelopeKind } from '../cell/envelope.js';
import type { Links } from './links.js';
import type { NodeCore } from './node-core.js';
import type { Handover } from '../recovery/handover.js';
import type { RemoteSpawns } from '../recovery/remote-spawns.js';
import type { SupervisionWire } from '../supervision/across-threads.js';
import type { Topics } from './topics.js';
import { seqOf, spawnerOf, type Returned } from './wire.js';

const RESOLVED: Promise<void> = Promise.resolve();
/** How long shutdown waits for actor modules still loading on a thread. */
const MODULE_WAIT_MS = 10_000;

/** Calls `fn`, then `after` before anything else runs; returns what `fn` returned (or a rejection). */
function runNow(fn: () => unknown, after: () => void): Promise<unknown> | unknown {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  } finally {
    after();
  }
}

/** Resolves true if `done` has not settled within `ms`. */
function overran(done: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([done.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), ms)))]).finally(() => clearTimeout(timer));
}

/** What stopping needs of the host beyond the shared core. */
export interface StopHost extends NodeCore {
  readonly remote: RemoteSpawns;
  readonly handover: Handover;
  readonly deathWatch: DeathWatch;
  readonly links: Links;
  readonly topics: Topics;
  readonly supervision: SupervisionWire;
  /** Async handlers in flight on this thread (at-most-once). */
  inFlight: number;
  /** Resolves once the modules this thread is loading for spawned actors have loaded (or failed). */
  modulesLoaded(): Promise<void>;
  /** Actors moving away or on their way here (moves.ts). */
  readonly moves: { whenSettled(key: number): Promise<void> | null };
}

export class Stopping {
  readonly #node: StopHost;

  constructor(node: StopHost) {
    this.#node = node;
  }

  /** A first start failed: the actor stops; what was sent to it is answered or dead-lettered. */
  startFailed(cell: Cell, error: Error): void {
    const node = this.#node;
    const failure = new ActorInitializationError(`actor ${node.idOf(cell.key)} failed to start: ${error.message}`, { cause: error });
    cell.exitReason = 'failed';
    void (cell.stopping ??= this.#finishStop(cell, failure));
  }

  /** Stops any actor by ref; `graceful`: after what it already accepted; `kill`: an abnormal exit. */
  stopRef(ref: ActorRefImpl, graceful = false, kill = false): Promise<void> {
    const node = this.#node;
    if (node.remote.isOrphan(ref.key)) {
      node.remote.gone(ref.key); // died with its thread, and now it is not to be restarted
      return RESOLVED;
    }
    node.locate(ref);
    if (ref.thread === node.self) {
      const cell = node.cells.get(ref.key);
      // Moving away, or on its way here: stopped once the move is over, wherever it ends.
      const moving = cell === undefined || cell.status === 'moving' ? node.moves.whenSettled(ref.key) : null;
      if (moving !== null) return moving.then(() => this.stopRef(ref, graceful, kill));
      if (cell === undefined) return Promise.resolve();
      if (kill) return this.stopCell(cell, 'killed');
      if (graceful) {
        if (!cell.ending) cell.enqueue(new Envelope(EnvelopeKind.Stop, '', undefined, node.self, 0, 0));
        return cell.whenStopped();
      }
      return this.stopCell(cell, 'normal');
    }
    if (node.isDead(ref.thread)) return Promise.resolve();
    const { corr, promise } = node.asks.open(0, () => `stop of ${ref.id}`, ref.thread);
    // A thread that dies before it answers settles this through threadDown(): the actor is gone.
    void promise.catch(() => undefined);
    node.records.stop(ref.thread, ref.key, node.current?.key ?? 0, corr, kill ? 2 : graceful ? 1 : 0);
    return promise as Promise<void>;
  }

  stopCell(cell: Cell, reason: 'normal' | 'failed' | 'shutdown' | 'killed'): Promise<void> {
    const node = this.#node;
    if (cell.stopping !== null) return cell.stopping;
    if (cell.status === 'stopped') return RESOLVED;
    const exit = reason === 'normal' && node.stopReason === 'shutdown' ? 'shutdown' : reason;
    // A normal exit is the default: setting it would allocate the cell's rare part for nothing.
    if (exit !== 'normal' || cell.exitReason !== 'normal') cell.exitReason = exit;
    if (!cell.busy && (cell.children === null || cell.children.size === 0) && cell.definition?.spec.onStop === undefined) {
      // Nothing to wait for: stop now, without a chain of awaits (a parent may stop thousands).
      // A second stop finds the cell 'stopped' and the same resolved promise.
      this.#ending(cell);
      this.#completeStop(cell, null);
      return RESOLVED;
    }
    return (cell.stopping = this.#finishStop(cell, null));
  }

  /**
   * The cell accepts nothing more from here on: on its own thread it is ending, and on every
   * other thread its entry in the liveness table says so (a tell there throws as here).
   */
  #ending(cell: Cell): void {
    cell.status = 'stopping';
    this.#node.liveness.markGone(spawnerOf(cell.key), seqOf(cell.key));
    cell.abortSignal(() => new ActorStoppedError(`actor ${this.#node.idOf(cell.key)} is stopping`));
  }

  /**
   * Shutdown's stops on this thread: one actor at a time, in the order given, each allowed
   * `timeoutMs` before the next one begins (a stop that overruns goes on, forced: the books
   * settle it at the thread's end). With `handleHeld` (the drain finished in time), what an actor
   * holds when its turn comes (what newer actors sent it as they stopped) is handled first, as
   * any accepted message is (Z2); one that has not had its first turn yet starts first. An idle actor
   * with no children and no onStop stops at once, with no timer and no await. Resolves with how
   * many overran.
   */
  async stopInOrder(keys: readonly number[], timeoutMs: number, handleHeld: boolean): Promise<number> {
    const node = this.#node;
    // Actors whose code is still loading here start before they stop; a module that never
    // finishes loading holds shutdown up for MODULE_WAIT_MS at most.
    await overran(node.modulesLoaded(), Math.max(timeoutMs, MODULE_WAIT_MS));
    let forced = 0;
    for (const key of keys) {
      const cell = node.cells.get(key);
      if (cell === undefined) continue;
      // Spawned but not started yet (its first turn had not come): it starts first, so that its
      // stop is a whole one (onStop runs, once).
      if (cell.status === 'starting' && !cell.busy && cell.definition !== null) cell.run();
      let done: Promise<void>;
      if (handleHeld && cell.depth > 0 && !cell.ending) {
        cell.enqueue(new Envelope(EnvelopeKind.Stop, '', undefined, node.self, 0, 0));
        done = cell.whenStopped();
      } else {
        done = this.stopCell(cell, 'normal');
      }
      if (done !== RESOLVED && (await overran(done, timeoutMs))) forced++;
    }
    return forced;
  }

  /** Stops a cell's children one at a time, newest first. */
  async stopChildren(cell: Cell): Promise<void> {
    if (cell.children === null) return;
    for (const ref of cell.childRefs().reverse()) await this.stopRef(ref);
  }

  async #finishStop(cell: Cell, initFailure: Error | null): Promise<void> {
    if (cell.status === 'stopped') return;
    const wasStarted = cell.status !== 'starting';
    this.#ending(cell);
    await cell.whenIdle();
    if (cell.children !== null) {
      // A start that failed undoes itself in order: the children it started stop newest first
      // (S7). Otherwise children stop in parallel.
      if (initFailure !== null) await this.stopChildren(cell);
      else await Promise.all(cell.childRefs().map((child) => this.stopRef(child)));
    }
    const onStop = cell.definition?.spec.onStop;
    if (onStop !== undefined && initFailure === null && wasStarted) {
      // Its synchronous part runs as the actor (what it sends has it as sender, and is not
      // refused at shutdown as a message from outside would be).
      const node = this.#node;
      const before = node.current;
      node.current = cell;
      try {
        await runNow(() => onStop(cell.ctx as never), () => (node.current = before));
      } catch {
        // onStop failures do not keep an actor alive.
      }
    }
    this.#completeStop(cell, initFailure);
  }

  /** The end of every stop: forget the cell, dead-letter its mailbox, tell its parent. */
  #completeStop(cell: Cell, initFailure: Error | null): void {
    const node = this.#node;
    cell.markStopped();
    node.cells.delete(cell.key);
    const reason = node.stopReason;
    const leftovers = cell.queue?.drain() ?? [];
    if (cell.queue !== null && cell.queue.entry >= 0) node.bounds.free(cell.queue.entry);
    // A pool member in ack mode hands its unhandled tells back to its pool, for the others (G4).
    const pooled = cell.policy.routeeOf !== null && cell.policy.delivery?.ack === true ? ([] as Returned[]) : null;
    const settle = (env: Envelope, attempt: number): void => {
      if (pooled !== null && env.kind === EnvelopeKind.Tell) {
        // It leaves this thread's custody log: handed to the pool (recovery/handover.ts).
        if (env.custody !== 0) node.runtime.custody!.done(env.custody);
        const returned: Returned = [env.type, env.payload, env.priority, env.messageId ?? null, Math.max(2, attempt), env.senderThread, env.senderKey];
        if (env.trace !== undefined) returned.push(env.trace);
        pooled.push(returned);
      } else {
        node.deadLetter(env, cell.key, reason, initFailure ?? undefined);
      }
    };
    for (const { env, count } of takeRedeliveries(cell)) settle(env, count);
    for (const env of leftovers) {
      if (env.kind === EnvelopeKind.Stop) continue;
      if (env.kind === EnvelopeKind.Terminated) continue;
      settle(env, 1);
    }
    if (pooled !== null && pooled.length > 0) node.handover.returnToPool(cell, pooled);
    if (cell.heldReplicas) node.handover.stopped(cell); // everything it held is settled above
    node.deathWatch.ended(cell);
    node.links.signal(cell, cell.exitReason);
    node.topics.stopped(cell.key);
    node.supervision.childStopped(cell);
    actorStopped(node, cell.key, cell.definition?.name ?? '', cell.exitReason);
  }

  /**
   * The thread is closing at the end of a shutdown, and some stops were forced (a handler or
   * onStop ran past shutdownTimeoutMs): what those actors still held becomes dead letters
   * ('shutdown'), and so do the messages whose handlers never settled (by count: they are only
   * known to be running). The books stay whole.
   */
  abandonAll(): void {
    const node = this.#node;
    for (const cell of node.cells.values()) {
      for (const env of cell.queue?.drain() ?? []) if (env.kind === EnvelopeKind.Tell || env.kind === EnvelopeKind.Ask) node.deadLetter(env, cell.key, 'shutdown');
      for (const { env } of takeRedeliveries(cell)) node.deadLetter(env, cell.key, 'shutdown');
      const attempt = cell.currentAttempt;
      if (attempt !== null) node.deadLetter(attempt, cell.key, 'shutdown');
    }
    for (; node.inFlight > 0; node.inFlight--) node.deadLetter(new Envelope(EnvelopeKind.Tell, '', undefined, node.self, 0, 0), 0, 'shutdown');
  }
}
