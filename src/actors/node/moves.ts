// Moving an actor to another thread behind the same ref (SEMANTICS V1). Where an actor lives is a
// byte in shared memory, the one a sender already reads to see whether it is gone
// (runtime/liveness.ts): once the byte names the new thread, every sender's next message goes
// there, where it waits until the actor arrives. Rings are ordered per pair of threads, so the
// old host then exchanges one fence record each way with every live thread: when the last
// answer is in, everything any thread sent the actor before it read the new place has reached
// the old host (it was ahead of the answer in that thread's ring), and everything the actor sent
// from the old host has been taken by its receivers (it was ahead of the fence). The actor then
// leaves as one record, behind everything the old host sent the new one: its state, its queued
// messages in order, its timers, its watchers and what it watches. So a move loses nothing and
// reorders nothing per sender, whichever thread the sender is on.
//
// It moves between handlers, never during one (an async handler finishes where it started), and
// only if its state would arrive unchanged (no class instance, function or shared object) and
// nothing ties it to its thread (its links go with it, links.ts; its topic subscriptions hold,
// topics.ts; in ack mode or with dedup, its dedup table goes, once no message of its is
// outstanding): otherwise the move is refused with ActorPinnedError, and inspect() says why.
// Children live on their parent's thread: a parent moves with its tree, every member between
// handlers, in one fence round, parents' records first; the new host makes the children with
// their parent there and the parent with its children and its restart window.

import { isRemoteRef } from '../remote-ref.js';
import { ActorFailedError, ActorPinnedError, ActorStoppedError, toWire } from '../../errors.js';
import { encodedSize, roundTripProblem } from '../../runtime/codec.js';
import { MIGRATED_IN, MIGRATED_OUT, STAT_RETURNED, STAT_RING_IN } from '../../runtime/layout.js';
import { MAX_LOCATED_SLOT } from '../../runtime/liveness.js';
import { invalid, validateInteger } from '../../validate.js';
import type { ActorRefImpl } from '../actor-ref.js';
import { Cell } from '../cell/cell.js';
import type { CellHost } from '../cell/cell-host.js';
import type { Fences } from './fences.js';
import { Envelope, EnvelopeKind, QUIET } from '../cell/envelope.js';
import { lookupDefinition } from '../define.js';
import { DEFAULT_POLICY } from '../policy.js';
import type { RemoteSpawns } from '../recovery/remote-spawns.js';
import type { NodeCore } from './node-core.js';
import { whenDefined } from './spawn-arrivals.js';
import { seqOf, spawnerOf, type MoveRecord, type MovedMessage } from './wire.js';

/** What moves need of the host beyond the shared core and what a cell needs. */
export type MoveHost = NodeCore &
  CellHost<Cell> & {
    readonly remote: RemoteSpawns;
    /** This thread's counters of actors moved away and arrived (runtime/layout.ts MIGRATED_*). */
    readonly migrations: Float64Array;
    readonly deathWatch: { onTerminated(from: number, targetKey: number, watcherKey: number, reason: 'noproc'): void };
    readonly links: {
      onExit(from: number, linkedKey: number, exitedKey: number, reason: 'noproc'): void;
      arrived(cell: Cell, held: readonly Envelope[] | undefined, links: ReadonlyMap<number, number> | undefined): Envelope[] | undefined;
    };
    /** Resolves once the actor behind `ref` has started (node.ts). */
    whenStarted(ref: ActorRefImpl): Promise<ActorRefImpl>;
    /** True while sends of `cell`'s own wait for room (send-queue.ts). */
    sendsWaitingFrom(cell: Cell): boolean;
    /** A thread that is running or starting (a dedicated slot not yet used is not). */
    isLive(thread: number): boolean;
    readonly fences: Fences;
  };

/** Queued messages per record as they follow a moving actor (fewer where they do not fit maxMessageBytes). */
const MOVE_CHUNK = 1024;

/**
 * Why `cell` cannot move, or null if it can (its state is checked only when it moves). Its
 * children move with it, and theirs with them: a child alone does not move.
 */
export function pinReason(cell: Cell, host: MoveHost): string | null {
  if (cell.parentKey !== 0) return 'it is a child (it moves with its parent)';
  return treePin(cell, host);
}

/** Why `cell` and the children that would move with it cannot move. */
function treePin(cell: Cell, host: MoveHost): string | null {
  const why = ownPin(cell, host);
  if (why !== null || cell.children === null) return why;
  if (cell.restartState?.supervisor?.deciding === true) return "its supervision is deciding on a child's failure";
  for (const key of cell.children.keys()) {
    const child = host.cells.get(key);
    if (child === undefined || child.status === 'moved') return `it has a child on another thread (${host.idOf(key)})`;
    const theirs = treePin(child, host);
    if (theirs !== null) return `its child ${host.idOf(key)} cannot move: ${theirs}`;
  }
  return null;
}

/** Why `cell` itself cannot move (whatever its children say). */
function ownPin(cell: Cell, host: MoveHost): string | null {
  // Undone, a move names its old thread in the liveness byte again: one the byte cannot name.
  if (host.self > MAX_LOCATED_SLOT) return `it lives on thread ${host.self}: moves start on threads 0 to ${MAX_LOCATED_SLOT} only`;
  const policy = cell.policy;
  const delivery = cell.delivery;
  if (delivery !== null) {
    const why = delivery.unmovable(cell.busy);
    if (why !== null) return why;
  }
  if (policy.supervision?.decide != null) return 'its supervision decides by a function on its thread';
  if (cell.self.entity !== undefined) return "it is an entity's activation (it lives where its key does)";
  if (cell.watching !== null) for (const ref of cell.watching.values()) if (isRemoteRef(ref)) return 'it watches an actor on another node';
  return cell.restartState?.pinned ?? null;
}

/** `cell` and its children, theirs after them (parents before children: the order they arrive in). */
function treeOf(cell: Cell, host: MoveHost, into: Cell[] = []): Cell[] {
  into.push(cell);
  if (cell.children !== null) for (const key of cell.children.keys()) treeOf(host.cells.get(key)!, host, into);
  return into;
}

export class Moves {
  readonly #host: MoveHost;
  /** Actors on their way away from here or to here: what waits for the move to end. */
  readonly #waiting = new Map<number, (() => void)[]>();
  /** Actors arriving here whose queued messages are still on their way (onMoveMsgs). */
  readonly #arriving = new Map<number, { cell: Cell; moduleUrl: string; name: string; supervisorRestarts: readonly number[] | null }>();
  /** At a spawner: the latest move it heard of, per actor it spawned that moved between other threads. */
  readonly #lastMove = new Map<number, number>();
  /** Actors that left here: their move resolves when the new thread says they run there. */
  readonly #landing = new Map<number, { to: number; resolve: () => void; reject: (error: Error) => void }>();

  constructor(host: MoveHost) {
    this.#host = host;
  }

  /** Moves the actor behind `ref` to thread `to`, wherever it lives now; resolves once it runs there. */
  move(ref: ActorRefImpl, to: number): Promise<void> {
    const host = this.#host;
    try {
      if (ref.entity !== undefined) throw invalid('move(ref)', `a ref to an actor (${ref.id} is an entity: it lives where its key does)`, ref.id);
      validateInteger(to, 'move(thread)', 0, Math.min(host.threadCount - 1, MAX_LOCATED_SLOT));
      if (!host.isLive(to)) throw invalid('move(thread)', 'a running thread', to);
      const at = host.locate(ref);
      if (at === host.self) {
        const cell = host.cells.get(ref.key);
        if (cell !== undefined && cell.status !== 'moving') return this.#moveOut(cell, to);
        const pending = this.whenSettled(ref.key);
        if (pending !== null) return pending.then(() => this.move(ref, to));
        throw new ActorStoppedError(`actor ${ref.id} is stopped`);
      }
      if (host.isDead(at)) throw new ActorStoppedError(`actor ${ref.id} was on thread ${at}, which died`);
      // Its host moves it: asked over the ring, answered like a stop.
      const { corr, promise } = host.asks.open<void>(0, () => `move of ${ref.id}`, at);
      host.control(at, ['move', ref.key, to, corr]);
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Another thread asks this one to move the actor `key` (it may have moved on: then it is followed). */
  onMoveRequest(from: number, key: number, to: number, corr: number): void {
    const host = this.#host;
    this.move(host.refFor(host.self, key), to).then(
      () => {
        if (!host.isDead(from)) host.records.reply(from, 0, corr, undefined);
      },
      (error: unknown) => {
        if (!host.isDead(from)) host.records.replyError(from, 0, corr, toWire(error));
      },
    );
  }

  /**
   * While the actor `key` moves away from here, or is on its way here (the byte names this thread
   * and it has not arrived): resolves when that move ends. Else null.
   */
  whenSettled(key: number): Promise<void> | null {
    const host = this.#host;
    const cell = host.cells.get(key);
    if (cell === undefined ? !host.expecting(key) : cell.status !== 'moving') return null;
    return new Promise((resolve) => {
      const waiting = this.#waiting.get(key);
      if (waiting === undefined) this.#waiting.set(key, [resolve]);
      else waiting.push(resolve);
    });
  }

  #settled(key: number): void {
    const waiting = this.#waiting.get(key);
    if (waiting === undefined) return;
    this.#waiting.delete(key);
    for (const resolve of waiting) resolve();
  }

  async #moveOut(cell: Cell, to: number): Promise<void> {
    const host = this.#host;
    const key = cell.key;
    if (to === host.self) return;
    const refuse = (why: string): ActorPinnedError => new ActorPinnedError(`actor ${host.idOf(key)} cannot move: ${why}`);
    let why = pinReason(cell, host);
    if (why !== null) throw refuse(why);
    // Just spawned (its module may still be loading), or in a handler (a long-running one finishes
    // where it started): it moves once it and every child that moves with it are between handlers.
    let tree = treeOf(cell, host);
    for (;;) {
      const waiting = tree.find((c) => c.busy || c.definition === null || c.status === 'starting');
      if (waiting === undefined) break;
      await (waiting.busy ? waiting.whenIdle() : host.whenStarted(waiting.self));
      if (cell.ending) break;
      why = pinReason(cell, host); // children come and go meanwhile
      if (why !== null) throw refuse(why);
      tree = treeOf(cell, host);
    }
    if (cell.ending) throw new ActorStoppedError(`actor ${host.idOf(key)} is stopped`);
    why = pinReason(cell, host);
    if (why !== null) throw refuse(why);
    if (cell.status === 'moving') return this.whenSettled(key)!.then(() => this.move(cell.self, to));
    for (const member of tree) {
      const whose = member === cell ? '' : `its child ${host.idOf(member.key)}: `;
      if (member.status !== 'running') throw refuse(`${whose}it is ${member.status}`);
      const problem = roundTripProblem(member.state, member === cell ? 'its state' : `the state of its child ${host.idOf(member.key)}`);
      if (problem !== null) {
        member.more().pinned = problem; // kept: inspect() says why
        throw refuse(problem);
      }
      if (host.sendsWaitingFrom(member)) throw refuse(`${whose}sends of its own wait for room (they would be overtaken by what it sends from its new thread): try again once they are through`);
      // The record must fit what a thread may send (its queued messages follow in records of their own): its dedup table included.
      const size = encodedSize([member.args, member.state, member.timersIfAny?.export() ?? null, member.delivery?.seenEntries() ?? null]);
      if (size > host.runtime.maxMessageBytes / 2) throw refuse(`${whose}its state and arguments take ${size} bytes encoded, more than half of maxMessageBytes (${host.runtime.maxMessageBytes})`);
    }
    for (const member of tree) {
      member.status = 'moving';
      host.liveness.moveTo(spawnerOf(member.key), seqOf(member.key), to, false); // on its way: settled when it leaves, or stays
    }
    await host.fences.fence(); // the moves asked for this turn share one round
    if (!host.isLive(to)) {
      // The new thread died during the fence: the move is undone, and they run on here.
      // What reached that thread for them meanwhile went down with it (its replacement's books).
      for (const member of tree) this.#stay(member, to, false);
      throw new ActorFailedError(`actor ${host.idOf(key)} stays on thread ${host.self}: thread ${to} died before it could move there`);
    }
    const stopped = tree.find((member) => member.status !== 'moving');
    if (stopped !== undefined) {
      // Stopped while the fence went round: what the new thread holds for it dies there; the
      // others stay, and what the new thread holds for them comes back.
      for (const member of tree) {
        if (member.status === 'moving') this.#stay(member, to, true);
        else {
          host.control(to, ['move-off', member.key, false]);
          this.#settled(member.key);
        }
      }
      if (stopped === cell) throw new ActorStoppedError(`actor ${host.idOf(key)} stopped while it was moving`);
      throw refuse(`its child ${host.idOf(stopped.key)} stopped while it was moving`);
    }
    const landings: Promise<void>[] = [];
    for (let i = 0; i < tree.length; i++) {
      const member = tree[i]!;
      landings.push(new Promise<void>((resolve, reject) => this.#landing.set(member.key, { to, resolve, reject })));
      try {
        host.control(to, ['move-in', this.#record(member)]);
      } catch (error) {
        // It has not left: it stays, and so do the children after it (a parent already gone
        // supervises them from its new thread, as it would children placed there).
        for (let j = i; j < tree.length; j++) {
          this.#landing.delete(tree[j]!.key);
          this.#stay(tree[j]!, to, true);
        }
        landings.pop();
        if (i === 0) throw refuse(`its record could not be sent: ${(error as Error).message}`);
        break;
      }
      this.#leave(member, to);
    }
    await Promise.all(landings);
  }

  /** A move of `cell` that does not happen: it runs on here; `back`: what `to` holds for it comes back. */
  #stay(cell: Cell, to: number, back: boolean): void {
    const host = this.#host;
    host.liveness.moveTo(spawnerOf(cell.key), seqOf(cell.key), host.self);
    if (back) host.control(to, ['move-off', cell.key, true]);
    cell.status = 'running';
    if (cell.depth > 0) cell.schedule();
    this.#settled(cell.key);
  }

  #record(cell: Cell): MoveRecord {
    const definition = cell.definition!;
    const timers = cell.timersIfAny?.export() ?? { timers: [], next: 0 };
    return [
      cell.key,
      definition.moduleUrl,
      definition.name,
      cell.args,
      cell.policy === DEFAULT_POLICY ? null : cell.policy,
      cell.state,
      timers.timers,
      timers.next,
      cell.watchers === null ? [] : [...cell.watchers],
      cell.watching === null ? [] : [...cell.watching.values()],
      cell.handled,
      cell.failed,
      cell.restartState?.restarts ?? null,
      cell.moves + 1,
      cell.links === null ? [] : [...cell.links.values()],
      cell.trapExit,
      cell.parentKey,
      cell.children === null ? [] : [...cell.children.keys()],
      cell.restartState?.supervisor?.restartTimes ?? null,
      cell.delivery?.seenEntries() ?? null,
    ];
  }

  /** Its record went: its queued messages follow in order, and the cell left here only points on. */
  #leave(cell: Cell, to: number): void {
    const host = this.#host;
    const key = cell.key;
    const definition = cell.definition!;
    // Settled there: from now on, should that thread die, the actor died with it.
    host.liveness.moveTo(spawnerOf(key), seqOf(key), to);
    const queue = cell.queue;
    const envs = queue?.handOver() ?? [];
    if (queue !== null && queue.entry >= 0) host.bounds.rehost(queue.entry, to); // its bounded mailbox's room goes with it
    cell.queue = null;
    host.runtime.counters[STAT_RETURNED]! += this.#sendMessages(to, key, envs, 0, envs.length); // handed to another thread (replacement.ts's books)
    host.control(to, ['move-msgs', key, [], true]);
    host.migrations[MIGRATED_OUT]!++;
    host.cells.delete(key);
    cell.timersIfAny?.cancelAll();
    cell.abortSignal(() => new ActorStoppedError(`actor ${host.idOf(key)} moved to thread ${to}`));
    host.mailboxWait.forget(cell);
    cell.status = 'moved';
    // Its spawner keeps its spawn record under the thread it lives on (to restart it there).
    const spawner = spawnerOf(key);
    if (spawner === host.self) {
      host.remote.moved(key, to, host.remote.record(definition.moduleUrl, definition.name, cell.args, cell.parentThread, cell.parentKey, cell.policy === DEFAULT_POLICY ? null : cell.policy));
      // Kept here from now on, as for an actor placed elsewhere: a restart after `to` dies knows them (K7).
      for (const [id, at] of cell.delivery?.seenEntries() ?? []) host.remote.seen(to, key, id, at);
    }
    else if (spawner !== to) host.control(spawner, ['moved', key, to, cell.moves + 1]);
    host.runtime.publishSoon();
    this.#settled(key);
  }

  /**
   * envs[from, to) to thread `to` in records that fit maxMessageBytes (halved until they do), in
   * order; returns how many user messages went. One that cannot go even alone is a dead letter.
   */
  #sendMessages(to: number, key: number, envs: Envelope[], from: number, end: number): number {
    if (from >= end) return 0;
    const host = this.#host;
    const chunk = Math.min(end - from, MOVE_CHUNK);
    if (chunk < end - from) return this.#sendMessages(to, key, envs, from, from + chunk) + this.#sendMessages(to, key, envs, from + chunk, end);
    const messages: MovedMessage[] = [];
    let users = 0;
    for (let i = from; i < end; i++) {
      const env = envs[i]!;
      messages.push([env.kind, env.type, env.payload, env.senderThread, env.senderKey, env.corr, env.priority | (env.quiet ? QUIET : 0), env.messageId ?? null, env.trace ?? null]);
      if (env.kind === EnvelopeKind.Tell || env.kind === EnvelopeKind.Ask) users++;
    }
    try {
      host.control(to, ['move-msgs', key, messages, false]);
    } catch (error) {
      if (end - from === 1) {
        if (users > 0) host.deadLetter(envs[from]!, key, 'stopped', error as Error);
        return 0;
      }
      const middle = from + ((end - from) >> 1);
      return this.#sendMessages(to, key, envs, from, middle) + this.#sendMessages(to, key, envs, middle, end);
    }
    // They leave this thread's custody with their record: the new thread's log keeps them.
    const custody = host.runtime.custody;
    for (let i = from; i < end; i++) if (envs[i]!.custody !== 0) custody!.done(envs[i]!.custody);
    return users;
  }

  /** Thread `thread` died: what moved there and had not started fails. */
  threadGone(thread: number): void {
    for (const [key, landing] of this.#landing) {
      if (landing.to !== thread) continue;
      this.#landing.delete(key);
      landing.reject(new ActorFailedError(`actor ${this.#host.idOf(key)} moved to thread ${thread}, which died`));
    }
  }

  /** The actor `key` that left here runs on its new thread (or failed to start there). */
  onLanded(key: number): void {
    const landing = this.#landing.get(key);
    if (landing === undefined) return;
    this.#landing.delete(key);
    landing.resolve();
  }

  /** The actor arrives: made here as it was; it runs once its queued messages have followed (onMoveMsgs). */
  onMoveIn(record: MoveRecord): void {
    const host = this.#host;
    const [key, moduleUrl, name, args, policy, state, timers, nextTimer, watchers, watching, handled, failed, restarts, moves, links, trapExit, parentKey, children, supervisorRestarts, seen] = record;
    // A child arrives with its parent (the parent's record came first).
    const cell = new Cell(host, key, lookupDefinition(moduleUrl, name) ?? null, args, parentKey === 0 ? 0 : host.self, parentKey, policy ?? DEFAULT_POLICY);
    cell.status = 'moving'; // until its messages and its module are here
    cell.state = state;
    cell.handled = handled;
    const rare = cell.more();
    rare.failed = failed;
    rare.restarts = restarts;
    rare.moves = moves;
    if (watchers.length > 0) cell.watchers = new Map(watchers);
    if (watching.length > 0) cell.watching = new Map(watching.map((ref) => [ref.key, ref]));
    if (links.length > 0) cell.links = new Map(links.map((ref) => [ref.key, ref]));
    if (trapExit) cell.trapExit = true;
    if (timers.length > 0) cell.timers.resume(timers, nextTimer);
    if (children.length > 0) cell.children = new Map(children.map((child) => [child, host.self]));
    if (seen !== null && seen.length > 0) cell.rememberSeen(seen); // its dedup table
    // Not among the cells yet: what comes for it meanwhile is held, behind what it brings.
    this.#arriving.set(key, { cell, moduleUrl, name, supervisorRestarts });
  }

  /** Its queued messages, in order; the last record says they are all here. */
  onMoveMsgs(from: number, key: number, messages: readonly MovedMessage[], last: boolean): void {
    const host = this.#host;
    const arriving = this.#arriving.get(key);
    // Sent back after a move that did not happen: to the cell that stayed here.
    const cell = arriving?.cell ?? host.cells.get(key);
    let users = 0;
    for (const [kind, type, payload, senderThread, senderKey, corr, priority, messageId, trace] of messages) {
      const env = new Envelope(kind as EnvelopeKind, type, payload, senderThread, senderKey, corr, priority, messageId ?? undefined);
      if (trace !== null) env.trace = trace;
      if (kind === EnvelopeKind.Tell || kind === EnvelopeKind.Ask) users++;
      if (cell === undefined || cell.ending) host.deadLetter(env, key, host.stopReason);
      else cell.enqueue(env, arriving !== undefined); // from its old mailbox: its dedup table took them there
    }
    host.runtime.counters[STAT_RING_IN]! += users; // in this thread's custody now
    if (!last || arriving === undefined) return;
    this.#arriving.delete(key);
    this.#arrive(from, arriving.cell, arriving.moduleUrl, arriving.name, arriving.supervisorRestarts);
  }

  #arrive(from: number, cell: Cell, moduleUrl: string, name: string, supervisorRestarts: readonly number[] | null): void {
    const host = this.#host;
    const key = cell.key;
    host.cells.set(key, cell);
    host.migrations[MIGRATED_IN]!++;
    const held = host.arrivals.take(key);
    const messages = host.links.arrived(cell, held.messages, host.arrivals.takeLinks(key));
    if (messages !== undefined) for (const env of messages) cell.enqueue(env);
    if (held.watchers !== undefined) for (const [watcherKey, watcherThread] of held.watchers) (cell.watchers ??= new Map()).set(watcherKey, watcherThread);
    if (spawnerOf(key) === host.self) host.remote.returned(key);
    const landed = (): void => {
      this.#settled(key);
      if (from === host.self) this.onLanded(key);
      else host.control(from, ['move-landed', key]);
    };
    const run = (): void => {
      // Its module is here now: so is its supervision policy (a definition may give it).
      if (supervisorRestarts !== null && supervisorRestarts.length > 0) cell.supervisor?.countRestarts(supervisorRestarts);
      if (cell.status === 'moving') {
        cell.status = 'running';
        if (cell.depth > 0) cell.schedule();
      }
      landed();
    };
    void whenDefined(host, cell, moduleUrl, name, run, landed);
  }

  /**
   * A move here that did not happen: what came for the actor meanwhile is a dead letter (it
   * stopped first), or goes back to its old thread (`back`: it stays there).
   */
  onMoveOff(from: number, key: number, back: boolean): void {
    const host = this.#host;
    const held = host.arrivals.take(key);
    const links = host.arrivals.takeLinks(key);
    const signals = held.messages ?? [];
    if (back) {
      if (links !== undefined) host.control(from, ['move-links', key, [...links]]);
      host.runtime.counters[STAT_RETURNED]! += this.#sendMessages(from, key, signals, 0, signals.length);
      if (held.watchers !== undefined) host.control(from, ['move-watchers', key, [...held.watchers]]);
      this.#settled(key);
      return;
    }
    // It stopped first: links made with it meanwhile end at once (noproc), as with any stopped actor.
    if (links !== undefined) for (const [peerKey, peerThread] of links) this.#noproc(key, peerKey, peerThread);
    for (const env of signals) if (env.kind !== EnvelopeKind.Exit) host.deadLetter(env, key, host.stopReason);
    if (held.watchers !== undefined) {
      for (const [watcherKey, watcherThread] of held.watchers) {
        if (watcherThread === host.self) host.deathWatch.onTerminated(host.self, key, watcherKey, 'noproc');
        else host.control(watcherThread, ['terminated', key, watcherKey, 'noproc']);
      }
    }
    this.#settled(key);
  }

  /** Links made with an actor whose move here did not happen, sent back by the thread that held them. */
  onMoveLinks(key: number, links: readonly [number, number][]): void {
    const host = this.#host;
    const cell = host.cells.get(key);
    for (const [peerKey, peerThread] of links) {
      if (cell !== undefined && !cell.ending) (cell.links ??= new Map()).set(peerKey, host.refFor(peerThread, peerKey));
      else this.#noproc(key, peerKey, peerThread);
    }
  }

  /** The actor `key` is gone: its peer `peerKey` on `peerThread` gets a noproc exit. */
  #noproc(key: number, peerKey: number, peerThread: number): void {
    const host = this.#host;
    if (peerThread === host.self) host.links.onExit(host.self, peerKey, key, 'noproc');
    else host.control(peerThread, ['exit', peerKey, key, 'noproc']);
  }

  /** Watchers of an actor whose move here did not happen, sent back by the thread that held them. */
  onMoveWatchers(key: number, watchers: readonly [number, number][]): void {
    const cell = this.#host.cells.get(key);
    if (cell === undefined || cell.ending) {
      for (const [watcherKey, watcherThread] of watchers) {
        if (watcherThread === this.#host.self) this.#host.deathWatch.onTerminated(this.#host.self, key, watcherKey, 'noproc');
        else this.#host.control(watcherThread, ['terminated', key, watcherKey, 'noproc']);
      }
      return;
    }
    for (const [watcherKey, watcherThread] of watchers) (cell.watchers ??= new Map()).set(watcherKey, watcherThread);
  }

  /** At its spawner: the actor `key` lives on `to` now, after its `n`-th move (notices from two threads may cross). */
  onMoved(key: number, to: number, n: number): void {
    const host = this.#host;
    if (host.liveness.isGone(spawnerOf(key), seqOf(key)) || (this.#lastMove.get(key) ?? 0) >= n) return;
    this.#lastMove.set(key, n);
    host.remote.moved(key, to, null);
  }
}
