// The activations of the keys that live on one thread: at most one per key, started on demand
// (from a spawn record on this thread, so its module loads as a spawned actor's does), stopped
// once idle past its definition's idleMs. A stopped one leaves nothing behind but what it
// committed: the next message starts another from that.

import type { TimerHandle } from '../../runtime/clock.js';
import type { Cell } from '../cell/cell.js';
import { resolvePolicy, type ActorPolicy } from '../policy.js';
import { DEFAULT_IDLE_MS, entityKind, isEntity, type EntityActivation } from './define-entity.js';
import type { EntityHost } from './entity-host.js';
import type { EntityAddress, EntityRefImpl } from './entity-ref.js';

/** Entities run in at-least-once mode: a failed handler's message comes again, up to maxDeliver. */
// A key is never given up on; up to 1,024 of its handled messages wait at once for their commits.
// A handler is never abandoned for running long: what it would commit later cannot be taken back.
// Its commit settles each message: ctx.ack and the rest are refused.
const RESOLVED = resolvePolicy({ delivery: { mode: 'at-least-once', maxAckPending: 1024, ackWaitMs: 2 ** 31 - 1 }, maxRestarts: 1_000_000 });
const POLICY: ActorPolicy = Object.freeze({ ...RESOLVED, delivery: Object.freeze({ ...RESOLVED.delivery!, manualAck: false }) });
/** Attempts at one message before it is a max-deliveries dead letter. */
export const MAX_DELIVER = POLICY.delivery!.maxDeliver;

interface Active {
  readonly cell: Cell;
  lastUsed: number;
}

export class Activations {
  readonly #host: EntityHost;
  readonly #active = new Map<string, Active>();
  #sweep: TimerHandle | null = null;
  /** Whether a key has messages on their way to its activation (then it is not idle). */
  readonly #pending: (id: string) => boolean;
  /** Once a sweep: forget what is older than the entities keep. */
  readonly #swept: (now: number) => void;

  constructor(host: EntityHost, pending: (id: string) => boolean, swept: (now: number) => void) {
    this.#host = host;
    this.#pending = pending;
    this.#swept = swept;
  }

  /** The cell of key `id`'s running activation (one that is not ending), if it has one. */
  running(id: string): Cell | undefined {
    const found = this.#active.get(id);
    return found !== undefined && !found.cell.ending ? found.cell : undefined;
  }

  /**
   * Starts an activation of key `id` at `address` (it has none running: see running()); its
   * messages wait in its cell while its module loads.
   */
  start(address: EntityAddress, id: string, start: (id: string) => EntityActivation, self: () => EntityRefImpl): Cell {
    const host = this.#host;
    const now = host.clock.now();
    const key = host.newKey();
    host.spawnFromRecord(host.self, key, [address[0], address[1], start(id), 0, 0, POLICY]);
    const cell = host.cells.get(key)!;
    cell.setSelf(self());
    // Not idle while it has messages (the sweep looks at them); its commits touch it (touch).
    this.#active.set(id, { cell, lastUsed: now });
    this.#sweepSoon();
    return cell;
  }

  /** `id`'s activation finished a message now: idle from here. */
  touch(id: string): void {
    const active = this.#active.get(id);
    if (active !== undefined) active.lastUsed = this.#host.clock.now();
  }

  /**
   * Stops the activations of the keys `which` picks (their shard leaves this node), each once it
   * has handled what it holds, or after `graceMs`: what is left stays stored, for the next owner.
   */
  async stopWhere(which: (id: string) => boolean, graceMs: number): Promise<void> {
    const deadline = performance.now() + graceMs;
    const picked = [...this.#active].filter(([id]) => which(id));
    await Promise.all(
      picked.map(async ([id, active]) => {
        const cell = active.cell;
        while (!cell.ending && (cell.status !== 'running' || working(cell) || this.#pending(id)) && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        if (this.#active.get(id) === active) this.#active.delete(id);
        if (!cell.ending) await this.#host.stopCell(cell, 'normal');
      }),
    );
  }

  close(): void {
    if (this.#sweep !== null) this.#host.clock.clearTimeout(this.#sweep);
    this.#sweep = null;
  }

  /** Stops the activations idle past their definition's idleMs; looks again while any remain. */
  #sweepSoon(): void {
    if (this.#sweep !== null) return;
    let every = Number.POSITIVE_INFINITY;
    // A module still loading: look again soon, when its idleMs is known.
    for (const { cell } of this.#active.values()) every = Math.min(every, cell.definition === null ? 50 : idleOf(cell) / 4);
    const host = this.#host;
    this.#sweep = host.clock.setTimeout(() => {
      this.#sweep = null;
      if (host.stopReason === 'shutdown') return;
      const now = host.clock.now();
      for (const [id, active] of this.#active) {
        const cell = active.cell;
        if (cell.ending) {
          this.#active.delete(id);
          continue;
        }
        if (cell.status !== 'running' || working(cell) || this.#pending(id) || now - active.lastUsed < idleOf(cell)) continue;
        this.#active.delete(id);
        void host.stopCell(cell, 'normal');
      }
      this.#swept(now);
      if (this.#active.size > 0) this.#sweepSoon();
    }, Math.min(10_000, Math.max(1, Math.floor(every))));
  }
}

/** Whether an activation has work: a handler running, messages queued, or (at-least-once) a failed one waiting to go again. */
function working(cell: Cell): boolean {
  const d = cell.delivery;
  return cell.busy || cell.depth > 0 || (d !== null && (d.current !== null || d.redeliver.length > 0 || d.deferred.size > 0 || d.waitTimer !== null || d.failing !== null));
}

/** An activation's idleMs (while its module still loads, the default). */
function idleOf(cell: Cell): number {
  const definition = cell.definition;
  return definition !== null && isEntity(definition) ? entityKind(definition).idleMs : DEFAULT_IDLE_MS;
}
