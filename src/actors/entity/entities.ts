// One thread's entities: refs to any entity, and the activations of the keys that live here. A
// key lives on the worker thread its hash picks (the main thread when there are no workers), so
// messages for it from anywhere meet in one place and there is one activation per key without
// any coordination. What an activation commits is kept here, encoded, and an activation idle for
// its definition's idleMs is stopped; its next message starts another from that state.

import { decodeContext, decodeStandalone, encodeStandalone, prepare } from '../../runtime/codec.js';
import type { TimerHandle } from '../../runtime/clock.js';
import { invalid, validateString } from '../../validate.js';
import type { Cell } from '../cell/cell.js';
import type { NodeCore } from '../node/node-core.js';
import type { SpawnRecord } from '../node/wire.js';
import type { AnyEntityDefinition } from '../types.js';
import { DEFAULT_IDLE_MS, entityKind, isEntity, type EntityActivation } from './define-entity.js';
import { EntityRefImpl, type EntityAddress } from './entity-ref.js';

/** The longest key an entity may have. */
export const MAX_KEY_LENGTH = 1024;

/** What the entities need of their thread's host. */
export interface EntityHost extends NodeCore {
  /** Worker threads (1..workers) over which keys are spread. */
  readonly workers: number;
  /** A fresh actor key of this thread. */
  newKey(): number;
  spawnFromRecord(from: number, key: number, record: SpawnRecord): void;
  stopCell(cell: Cell, reason: 'normal'): Promise<void>;
}

interface Active {
  readonly cell: Cell;
  lastUsed: number;
}

export class Entities {
  readonly #host: EntityHost;
  /** What each key of this thread last committed, encoded (by entity id). */
  readonly #committed = new Map<string, Uint8Array>();
  readonly #active = new Map<string, Active>();
  #sweep: TimerHandle | null = null;

  constructor(host: EntityHost) {
    this.#host = host;
  }

  /** Activations in memory on this thread now. */
  get activeCount(): number {
    return this.#active.size;
  }

  /** A ref to the one activation of `key`, from any thread. */
  ref(definition: AnyEntityDefinition, key: string, name = 'entity'): EntityRefImpl {
    if (!isEntity(definition)) throw invalid(`${name}(definition)`, 'a definition made by defineEntity', definition);
    validateString(key, `${name}(key)`);
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) throw invalid(`${name}(key)`, `a string of 1 to ${MAX_KEY_LENGTH} characters`, key);
    return this.entityRef([definition.moduleUrl, definition.name, key]);
  }

  /** A ref from its address (a decoded one, or one made here). */
  entityRef(address: EntityAddress): EntityRefImpl {
    return new EntityRefImpl(this.#host as never, homeOf(address, this.#host.workers), address);
  }

  /**
   * On the key's thread: the key of its activation's cell, started now if it has none (its
   * messages wait in the cell while its module loads).
   */
  activate(address: EntityAddress): number {
    const host = this.#host;
    const id = idOf(address);
    const now = host.clock.now();
    const found = this.#active.get(id);
    if (found !== undefined && !found.cell.ending) {
      found.lastUsed = now;
      return found.cell.key;
    }
    const key = host.newKey();
    host.spawnFromRecord(host.self, key, [address[0], address[1], this.#activation(id, address[2]), 0, 0, null]);
    const cell = host.cells.get(key)!;
    cell.setSelf(this.entityRef(address));
    this.#active.set(id, { cell, lastUsed: now });
    this.#sweepSoon();
    return key;
  }

  /** What a new activation reads its state from and commits to. */
  #activation(id: string, key: string): EntityActivation {
    const committed = this.#committed;
    const host = this.#host;
    return {
      key,
      restore() {
        const bytes = committed.get(id);
        if (bytes === undefined) return { found: false, state: undefined };
        const before = decodeContext.current;
        decodeContext.current = host; // refs in the state bind to this thread
        try {
          return { found: true, state: decodeStandalone(bytes) };
        } finally {
          decodeContext.current = before;
        }
      },
      commit(state) {
        committed.set(id, encodeStandalone(prepare(state, 'state')));
      },
    };
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
        if (cell.status !== 'running' || cell.busy || cell.depth > 0 || now - active.lastUsed < idleOf(cell)) continue;
        this.#active.delete(id);
        void host.stopCell(cell, 'normal');
      }
      if (this.#active.size > 0) this.#sweepSoon();
    }, Math.min(10_000, Math.max(1, Math.floor(every))));
  }
}

/** The thread a key lives on: a worker picked by its hash, or main when there is none. */
function homeOf([, name, key]: EntityAddress, workers: number): number {
  if (workers === 0) return 0;
  let h = 0x811c9dc5; // FNV-1a over the name and the key
  const text = `${name}\u0000${key}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return 1 + ((h >>> 0) % workers);
}

function idOf([moduleUrl, name, key]: EntityAddress): string {
  return `${moduleUrl}#${name}\u0000${key}`;
}

/** An activation's idleMs (while its module still loads, the default). */
function idleOf(cell: Cell): number {
  const definition = cell.definition;
  return definition !== null && isEntity(definition) ? entityKind(definition).idleMs : DEFAULT_IDLE_MS;
}
