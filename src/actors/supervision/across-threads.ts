// Supervision between threads: a supervised child's failure travels to its parent's thread,
// where the parent's Supervisor (supervision.ts) decides; the directive travels back to the
// child's thread, where the cell carries it out. A child that stops tells its parent, which
// forgets it. Each hop is a control record or a directive record in ring order.

import { fromWire, toWire, type WireError } from '../../errors.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { Cell } from '../cell/cell.js';
import type { NodeCore } from '../node/node-core.js';
import type { RemoteSpawns } from '../recovery/remote-spawns.js';
import type { RestartType } from '../types.js';
import { spawnerOf } from '../node/wire.js';

/** What the wire needs of the host beyond the shared core. */
export interface SupervisionHost extends NodeCore {
  readonly remote: RemoteSpawns;
  /** Actors moving (node/moves.ts): a parent on its way here, with the children that move with it. */
  readonly moves: { whenSettled(key: number): Promise<void> | null };
  stopRef(ref: ActorRefImpl): Promise<void>;
}

export type DirectiveVerb = 'resume' | 'restart' | 'halt' | 'start';

export class SupervisionWire {
  readonly #node: SupervisionHost;

  constructor(node: SupervisionHost) {
    this.#node = node;
  }

  /** A supervised child failed (or, `normalExit`, a permanent one stopped itself): its parent decides. */
  reportFailure(child: Cell, error: Error, normalExit = false): void {
    const node = this.#node;
    if (child.parentThread === node.self) {
      const key = child.key;
      queueMicrotask(() => this.#childFailed(child.parentKey, node.self, key, error, child.policy.restart, normalExit));
      return;
    }
    node.control(child.parentThread, ['child-failed', child.parentKey, child.key, toWire(error), child.policy.restart, normalExit]);
  }

  onChildFailed(from: number, parentKey: number, childKey: number, error: WireError, type: RestartType, normalExit: boolean): void {
    this.#childFailed(parentKey, from, childKey, fromWire(error), type, normalExit);
  }

  #childFailed(parentKey: number, childThread: number, childKey: number, error: Error, type: RestartType, normalExit: boolean): void {
    const node = this.#node;
    const parent = node.cells.get(parentKey);
    // A child runs as soon as it arrives, and its parent may still be on its way (its module loading).
    const arriving = parent === undefined ? node.moves.whenSettled(parentKey) : null;
    if (arriving !== null) {
      void arriving.then(() => this.#childFailed(parentKey, childThread, childKey, error, type, normalExit));
      return;
    }
    const child = node.refFor(childThread, childKey);
    const supervisor = parent?.supervisor ?? null;
    if (parent === undefined || supervisor === null) {
      void node.stopRef(child); // nobody left to decide: a failed child does not linger suspended
      return;
    }
    supervisor.childFailed(this, parent, child, error, type, normalExit);
  }

  /** A supervisor's directive to one of its children, on any thread. */
  directive(child: ActorRefImpl, verb: DirectiveVerb): Promise<unknown> {
    const node = this.#node;
    if (node.remote.isOrphan(child.key)) {
      // Died with its thread: there is no instance to resume or halt; it starts afresh.
      if (verb === 'halt') return Promise.resolve(node.remote.restartTypeOf(child.key));
      node.remote.respawn(child.key);
      return Promise.resolve(null);
    }
    if (child.thread === node.self) return node.cells.get(child.key)?.applyDirective(verb) ?? Promise.resolve(null);
    if (node.isDead(child.thread)) return Promise.resolve(null);
    const { corr, promise } = node.asks.open(0, () => `${verb} of ${child.id}`, child.thread);
    node.records.directive(child.thread, child.key, node.current?.key ?? 0, corr, verb);
    return promise.catch(() => null);
  }

  stopRef(ref: ActorRefImpl): Promise<void> {
    return this.#node.stopRef(ref);
  }

  now(): number {
    return this.#node.clock.now();
  }

  /** A cell stopped: its parent forgets it, and its spawner its spawn record. */
  childStopped(cell: Cell): void {
    const node = this.#node;
    const parentThread = cell.parentKey === 0 ? -1 : cell.parentThread;
    // A spawner keeps the record of what it placed on another thread (or what moved there).
    const spawner = spawnerOf(cell.key);
    if (spawner !== node.self && spawner !== parentThread) node.control(spawner, ['child-stopped', 0, node.self, cell.key]);
    if (parentThread === -1) return;
    if (parentThread === node.self) {
      this.onChildStopped(cell.parentKey, node.self, cell.key);
      return;
    }
    node.control(parentThread, ['child-stopped', cell.parentKey, node.self, cell.key]);
  }

  onChildStopped(parentKey: number, childThread: number, childKey: number): void {
    const node = this.#node;
    const parent = node.cells.get(parentKey);
    const arriving = parent === undefined ? node.moves.whenSettled(parentKey) : null;
    if (arriving !== null) {
      void arriving.then(() => this.onChildStopped(parentKey, childThread, childKey));
      return;
    }
    if (childThread !== node.self) node.remote.stopped(childKey, childThread);
    // Its parent forgets it (a child that moved with its parent is known under their new thread).
    if (parent?.children?.get(childKey) === childThread) parent.children.delete(childKey);
  }
}
