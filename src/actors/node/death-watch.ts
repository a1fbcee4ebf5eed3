// Death watch: an actor that watches another gets one Terminated signal when it ends, in order
// behind everything the watched actor sent it, wherever the two live. The watched actor's host
// keeps its watchers (watcher key -> thread); the watcher keeps what it watches. Runtime parts
// that are not actors (a pool's members) watch through functions, under negative watcher keys.

import { checkRef } from '../actor-ref.js';
import { isRemoteRef } from '../remote-ref.js';
import { WatchAliases } from './cross-node.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Cell } from '../cell/cell.js';
import { Envelope, EnvelopeKind, type TerminatedNotice } from '../cell/envelope.js';
import type { NodeCore } from './node-core.js';
import type { ExitReason } from '../types.js';

export class DeathWatch {
  readonly #node: NodeCore;
  /** Watchers that are functions, not actors (a pool's members): negative watcher keys. */
  readonly #fnWatchers = new Map<number, { ref: ActorRefImpl; onEnd: (reason: ExitReason) => void }>();
  #fnWatchSeq = 0;
  /** Keys in `watching` for actors of other nodes. */
  readonly #aliases = new WatchAliases();

  constructor(node: NodeCore) {
    this.#node = node;
  }

  watch(watcher: Cell, ref: ActorRefImpl): void {
    checkRef(ref, 'watch(ref)');
    if (isRemoteRef(ref)) {
      const alias = this.#aliases.of(ref);
      if (watcher.watching?.has(alias)) return;
      (watcher.watching ??= new Map()).set(alias, ref);
      this.#aliases.hold(alias);
      this.#node.crossNode.watch(ref, this.#node.self, watcher.key, alias, true);
      return;
    }
    if (watcher.watching?.has(ref.key)) return;
    (watcher.watching ??= new Map()).set(ref.key, ref);
    const node = this.#node;
    node.locate(ref);
    if (node.isDead(ref.thread)) {
      this.#deliver(watcher, ref.thread, ref.key, 'thread-exit');
      return;
    }
    if (ref.thread === node.self) {
      const target = node.cells.get(ref.key);
        if (target === undefined && node.expecting(ref.key)) node.arrivals.holdWatch(ref.key, watcher.key, node.self);
      else if (target === undefined || target.status === 'stopped') this.#deliver(watcher, ref.thread, ref.key, 'noproc');
      else (target.watchers ??= new Map()).set(watcher.key, node.self);
      return;
    }
    node.control(ref.thread, ['watch', ref.key, watcher.key]);
  }

  unwatch(watcher: Cell, ref: ActorRefImpl): void {
    checkRef(ref, 'unwatch(ref)');
    if (isRemoteRef(ref)) {
      const alias = this.#aliases.peek(ref);
      if (alias === undefined || watcher.watching?.delete(alias) !== true) {
        // Its Terminated is already on the way (the alias was let go): dropped, as unwatch promises.
        for (const [key, watched] of watcher.watching ?? []) if (key < 0 && watched.id === ref.id) watcher.watching!.delete(key);
        return;
      }
      this.#aliases.release(alias);
      this.#node.crossNode.watch(ref, this.#node.self, watcher.key, alias, false);
      return;
    }
    if (watcher.watching?.delete(ref.key) !== true) return;
    const node = this.#node;
    node.locate(ref);
    if (ref.thread === node.self) node.cells.get(ref.key)?.watchers?.delete(watcher.key);
    else node.control(ref.thread, ['unwatch', ref.key, watcher.key]);
  }

  /**
   * Calls `onEnd` once when `ref` stops for good (or at once if it is gone), wherever it runs:
   * death watch for runtime parts that are not actors. Returns the function that cancels it.
   */
  watchWith(ref: ActorRefImpl, onEnd: (reason: ExitReason) => void): () => void {
    const node = this.#node;
    const id = --this.#fnWatchSeq;
    this.#fnWatchers.set(id, { ref, onEnd });
    const cancel = (): void => {
      if (!this.#fnWatchers.delete(id)) return;
      if (ref.thread === node.self) node.cells.get(ref.key)?.watchers?.delete(id);
      else node.control(ref.thread, ['unwatch', ref.key, id]);
    };
    if (node.isDead(ref.thread)) {
      queueMicrotask(() => this.#fnEnded(id, 'thread-exit'));
    } else if (ref.thread === node.self) {
      const target = node.cells.get(ref.key);
      if (target === undefined || target.status === 'stopped') queueMicrotask(() => this.#fnEnded(id, 'noproc'));
      else (target.watchers ??= new Map()).set(id, node.self);
    } else {
      node.control(ref.thread, ['watch', ref.key, id]);
    }
    return cancel;
  }

  /** Tells the watchers of a cell that just ended, each after everything the cell sent it. */
  ended(cell: Cell): void {
    const node = this.#node;
    if (cell.watchers !== null) {
      for (const [watcherKey, known] of cell.watchers) {
        // A watcher that moved is told where it lives now (moves.ts); function watchers stay put.
        const watcherThread = watcherKey < 0 ? known : node.whereIs(known, watcherKey);
        if (watcherThread === node.self) {
          if (watcherKey < 0) {
            this.#fnEnded(watcherKey, cell.exitReason);
            continue;
          }
          this.#toWatcher(watcherKey, node.self, cell.key, cell.exitReason);
        } else {
          node.control(watcherThread, ['terminated', cell.key, watcherKey, cell.exitReason]);
        }
      }
      cell.watchers = null;
    }
    if (cell.watching !== null) {
      for (const ref of cell.watching.values()) this.unwatch(cell, ref);
    }
  }

  /**
   * Thread `thread` is gone for good: everything watched there ended with it. (An actor on its
   * way there is judged once its move settles, node.whenPlaced: undone, it lives on, still watched.)
   */
  threadGone(thread: number): void {
    const node = this.#node;
    for (const cell of node.cells.values()) {
      if (cell.watching === null) continue;
      for (const ref of cell.watching.values()) {
        if (isRemoteRef(ref)) continue;
        node.whenPlaced(ref, () => {
          if (cell.watching?.get(ref.key) === ref && node.locate(ref) === thread) this.#deliver(cell, thread, ref.key, 'thread-exit');
        });
      }
    }
    for (const [id, w] of this.#fnWatchers) {
      node.whenPlaced(w.ref, () => {
        if (this.#fnWatchers.get(id) === w && node.locate(w.ref) === thread) this.#fnEnded(id, 'thread-exit');
      });
    }
  }

  /** Thread `thread` was replaced: the watches of its actors are made again there (one on its way there, once it settled there). */
  rewatch(thread: number): void {
    const node = this.#node;
    for (const cell of node.cells.values()) {
      if (cell.watching === null) continue;
      for (const ref of cell.watching.values()) {
        if (isRemoteRef(ref)) continue;
        node.whenPlaced(ref, () => {
          if (cell.watching?.get(ref.key) === ref && node.locate(ref) === thread) node.control(thread, ['watch', ref.key, cell.key]);
        });
      }
    }
    for (const [id, w] of this.#fnWatchers) {
      node.whenPlaced(w.ref, () => {
        if (this.#fnWatchers.get(id) === w && node.locate(w.ref) === thread) node.control(thread, ['watch', w.ref.key, id]);
      });
    }
  }

  // ---- control records from other threads ------------------------------------------------------

  /** `from` watches `targetKey` here. */
  onWatch(from: number, targetKey: number, watcherKey: number): void {
    const node = this.#node;
    const target = node.cells.get(targetKey);
    if (target === undefined && ((node.arrivals.holds(targetKey) && node.unmoved(targetKey)) || node.expecting(targetKey))) {
      node.arrivals.holdWatch(targetKey, watcherKey, from); // its spawn record is still on another ring
    } else if (target === undefined || target.status === 'stopped') {
      node.control(from, ['terminated', targetKey, watcherKey, target === undefined && node.arrivals.ofPredecessor(targetKey) ? 'thread-exit' : 'noproc']);
    } else {
      (target.watchers ??= new Map()).set(watcherKey, from);
    }
  }

  onUnwatch(targetKey: number, watcherKey: number): void {
    this.#node.cells.get(targetKey)?.watchers?.delete(watcherKey);
  }

  /** An actor of another node that watcher `watcherKey` here watches (as `alias`) ended, or its node went down. */
  remoteEnded(watcherKey: number, alias: number, reason: ExitReason): void {
    const watcher = this.#node.cells.get(watcherKey);
    if (watcher?.watching?.has(alias) !== true) return;
    this.#aliases.release(alias); // its watch is over (the signal takes it out of `watching`)
    this.#deliver(watcher, -1, alias, reason);
  }

  /** A target on thread `from` that a watcher here watches ended. */
  onTerminated(from: number, targetKey: number, watcherKey: number, reason: ExitReason): void {
    if (watcherKey < 0) {
      this.#fnEnded(watcherKey, reason);
      return;
    }
    this.#toWatcher(watcherKey, from, targetKey, reason);
  }

  /** To the watcher `watcherKey` here, or held for it while it moves here (moves.ts). */
  #toWatcher(watcherKey: number, thread: number, targetKey: number, reason: ExitReason): void {
    const node = this.#node;
    const watcher = node.cells.get(watcherKey);
    if (watcher !== undefined) {
      if (watcher.watching?.has(targetKey)) this.#deliver(watcher, thread, targetKey, reason);
    } else if (node.expecting(watcherKey)) {
      const notice: TerminatedNotice = { thread, key: targetKey, reason };
      node.arrivals.hold(watcherKey, new Envelope(EnvelopeKind.Terminated, 'terminated', notice, thread, targetKey, 0));
    }
  }

  #deliver(watcher: Cell, thread: number, key: number, reason: ExitReason): void {
    if (watcher.ending) return;
    const notice: TerminatedNotice = { thread, key, reason };
    watcher.enqueue(new Envelope(EnvelopeKind.Terminated, 'terminated', notice, thread, key, 0));
  }

  #fnEnded(id: number, reason: ExitReason): void {
    const w = this.#fnWatchers.get(id);
    if (w === undefined) return;
    this.#fnWatchers.delete(id);
    w.onEnd(reason);
  }
}
