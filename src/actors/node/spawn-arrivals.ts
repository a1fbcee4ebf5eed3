// A spawn record from another thread, or a restart after its thread died: the cell is made here
// with the same key, what came for it before its record is queued ahead of anything newer (a
// message its dead predecessor had started goes again only in ack mode), and its module is
// loaded if this thread has not loaded it yet: one import per module, however many spawns wait.

import { loadModule } from '../../runtime/module-loader.js';
import { redeliver } from '../cell/ack-mode.js';
import { Cell } from '../cell/cell.js';
import type { CellHost } from '../cell/cell-host.js';
import { lookupDefinition } from '../define.js';
import { actorSpawned } from '../diagnostics.js';
import { DEFAULT_POLICY } from '../policy.js';
import type { NodeCore } from './node-core.js';
import type { SpawnRecord } from './wire.js';

/** What arriving spawns need of the host: the core, and what a cell needs. */
export type ArrivalHost = NodeCore & CellHost<Cell>;

export class SpawnArrivals {
  readonly #host: ArrivalHost;
  /** Modules being loaded for spawned actors, by URL (their cells start once it is there). */
  readonly #loading = new Map<string, Promise<void>>();

  constructor(host: ArrivalHost) {
    this.#host = host;
  }

  spawn(from: number, key: number, record: SpawnRecord): void {
    const host = this.#host;
    const [moduleUrl, name, args, parentThread, parentKey, sentPolicy, seen] = record;
    const { messages, watchers } = host.arrivals.spawned(from, key);
    const cell = new Cell(host, key, lookupDefinition(moduleUrl, name) ?? null, args, parentThread === 0 && parentKey === 0 ? 0 : from, parentKey, sentPolicy ?? DEFAULT_POLICY);
    if (seen !== undefined) cell.rememberSeen(seen);
    host.cells.set(key, cell);
    actorSpawned(host, key, name, parentKey);
    if (messages !== undefined) {
      const interrupted = host.arrivals.interrupted;
      for (const env of messages) {
        if (interrupted.size > 0 && interrupted.delete(env)) {
          // Its handler had started when its thread died: again only in ack mode (as attempt 2).
          if (cell.policy.delivery?.ack === true) redeliver(cell, env, 2);
          else host.deadLetter(env, key, 'thread-crash');
          continue;
        }
        cell.enqueue(env);
      }
    }
    if (watchers !== undefined) cell.watchers = watchers;
    const loaded = whenDefined(host, cell, moduleUrl, name, () => cell.schedule(), () => undefined);
    if (loaded !== null && !this.#loading.has(moduleUrl)) {
      this.#loading.set(moduleUrl, loaded);
      void loaded.then(() => this.#loading.delete(moduleUrl));
    }
  }

  /** Resolves once the modules this thread is loading for spawned actors have loaded (or failed). */
  async loaded(): Promise<void> {
    while (this.#loading.size > 0) await Promise.all(this.#loading.values());
  }
}

/**
 * `ready()` once `cell` has its definition: at once if its module is loaded on this thread (null
 * is returned), else once it has loaded (the promise). A module that fails to load, or defines no
 * actor of that name, fails the actor's start instead, then `failed()`. For a cell made here from
 * another thread's record: a spawn, or an actor that moved here (moves.ts).
 */
export function whenDefined(host: ArrivalHost, cell: Cell, moduleUrl: string, name: string, ready: () => void, failed: () => void): Promise<void> | null {
  if (cell.definition !== null) {
    ready();
    return null;
  }
  return loadModule(moduleUrl).then(
    () => {
      const definition = lookupDefinition(moduleUrl, name);
      if (definition === undefined) {
        host.startFailed(cell, new Error(`no actor named ${JSON.stringify(name)} is defined in ${moduleUrl}`));
        failed();
        return;
      }
      cell.definition = definition;
      ready();
    },
    (error: unknown) => {
      host.startFailed(cell, new Error(`cannot load ${moduleUrl}: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      failed();
    },
  );
}
