// Stopping every top-level actor at shutdown, in the tree's order but without one round trip per
// actor. Siblings stop newest first, and an actor's stop begins once every newer sibling has
// finished its own: an actor that still has work to do as it stops (an onStop, children, a
// message in hand or waiting) may talk to its older siblings, which are alive until it is done.
// An actor with nothing to do stops at once and runs no code, so a run of such actors between
// two that have work stops as one batch per thread, the threads in parallel. Each thread says
// which of its actors have work (one record each way); then the runs and the actors with work
// alternate, each run a few records, each actor with work one. What counts is the state when
// shutdown asks: an actor idle then that a newer sibling's onStop sends a message stops in its
// batch, after handling it; what it sends then to an older idle sibling on another thread may
// find that one stopped (a dead letter, counted like any other).

import { MessageTooLargeError } from '../../errors.js';
import type { Cell } from '../cell/cell.js';
import type { NodeCore } from './node-core.js';
import type { RemoteSpawns } from '../recovery/remote-spawns.js';

/** What the shutdown order needs of the host beyond the shared core. */
export interface StopAllHost extends NodeCore {
  readonly remote: RemoteSpawns;
  stopInOrder(keys: readonly number[], timeoutMs: number, handleHeld: boolean): Promise<number>;
}

/** Keys per stop-all record: 100k actors take a few records, each small enough to encode at once. */
const STOP_BATCH = 8192;

/**
 * True if stopping the cell runs code or waits: an onStop, children, a message in hand or queued,
 * a start not made yet (its code may still be loading).
 */
export function hasWorkToStop(cell: Cell): boolean {
  const definition = cell.definition;
  return (
    definition === null ||
    cell.status === 'starting' ||
    cell.busy ||
    cell.depth > 0 ||
    (cell.children !== null && cell.children.size > 0) ||
    definition.spec.onStop !== undefined
  );
}

/** The keys among `keys` whose actor on this thread has work to do as it stops. */
export function withWork(host: NodeCore, keys: readonly number[]): number[] {
  const out: number[] = [];
  for (const key of keys) {
    const cell = host.cells.get(key);
    if (cell !== undefined && hasWorkToStop(cell)) out.push(key);
  }
  return out;
}

/**
 * Stops every actor this thread spawned with no parent (on any thread), newest first, each
 * allowed `timeoutMs`; with `handleHeld`, each handles what it holds first (what newer ones sent
 * it as they stopped). Resolves with how many overran. Their children stop before them.
 */
export async function stopTopLevel(host: StopAllHost, timeoutMs: number, handleHeld: boolean): Promise<number> {
  const byThread: number[][] = [];
  const local: number[] = [];
  for (const cell of host.cells.values()) if (cell.parentKey === 0 && cell.parentThread === 0) local.push(cell.key);
  for (let thread = 0; thread < host.threadCount; thread++) {
    if (thread === host.self || host.isDead(thread)) {
      byThread.push(thread === host.self ? local : []);
      continue;
    }
    const keys: number[] = [];
    for (const key of host.remote.topLevel(thread)) {
      // Died with its thread and waiting for its restart (a backoff): it is not restarted now.
      if (host.remote.isOrphan(key)) host.remote.gone(key);
      else keys.push(key);
    }
    byThread.push(keys);
  }
  // Which have work, asked of every thread at once.
  const working = new Set<number>();
  const answers = byThread.map((keys, thread) => (keys.length === 0 ? [] : thread === host.self ? withWork(host, keys) : workOn(host, thread, keys)));
  for (const keys of await Promise.all(answers)) for (const key of keys) working.add(key);
  // Newest first: a key grows with its spawn order on the spawning thread (all of them here).
  const order: [key: number, thread: number][] = [];
  byThread.forEach((keys, thread) => {
    for (const key of keys) order.push([key, thread]);
  });
  order.sort((a, b) => b[0] - a[0]);
  let forced = 0;
  let run: number[][] = byThread.map(() => []);
  const flush = async (): Promise<void> => {
    const batches = run;
    run = byThread.map(() => []);
    for (const n of await Promise.all(batches.map((keys, thread) => stopOn(host, thread, keys, timeoutMs, handleHeld)))) forced += n;
  };
  for (const [key, thread] of order) {
    if (!working.has(key)) {
      run[thread]!.push(key);
      continue;
    }
    await flush();
    forced += await stopOn(host, thread, [key], timeoutMs, handleHeld);
  }
  await flush();
  return forced;
}

/** Stops `keys` on `thread` in this order, a batch per record; resolves with how many overran. */
async function stopOn(host: StopAllHost, thread: number, keys: number[], timeoutMs: number, handleHeld: boolean): Promise<number> {
  if (keys.length === 0) return 0;
  if (thread === host.self) return host.stopInOrder(keys, timeoutMs, handleHeld);
  let forced = 0;
  for (let at = 0; at < keys.length && !host.isDead(thread); at += STOP_BATCH) forced += await stopBatch(host, thread, keys.slice(at, at + STOP_BATCH), timeoutMs, handleHeld);
  return forced;
}

/** One stop-all record, or halves in order where one does not fit maxMessageBytes. */
function stopBatch(host: StopAllHost, thread: number, keys: number[], timeoutMs: number, handleHeld: boolean): Promise<number> {
  return inHalves(keys, (part) => ask(host, thread, ['stop-all', part, timeoutMs, handleHeld, 0], 0), (x, y) => x + y);
}

/** The keys among `keys` whose actor on `thread` has work to stop. */
function workOn(host: StopAllHost, thread: number, keys: number[]): Promise<number[]> {
  return inHalves(keys, (part) => ask<number[]>(host, thread, ['stop-work', part, 0], []), (x, y) => [...x, ...y]);
}

/** `send(keys)`, or where its record does not fit maxMessageBytes, each half in order, joined. */
async function inHalves<T>(keys: number[], send: (keys: number[]) => Promise<T>, join: (a: T, b: T) => T): Promise<T> {
  try {
    return await send(keys);
  } catch (error) {
    if (!(error instanceof MessageTooLargeError) || keys.length === 1) throw error;
    const half = keys.length >> 1;
    const first = await inHalves(keys.slice(0, half), send, join);
    return join(first, await inHalves(keys.slice(half), send, join));
  }
}

/** A control request answered by a Reply; a thread that dies meanwhile answers `orElse`. */
async function ask<T>(host: NodeCore, thread: number, record: ['stop-all', number[], number, boolean, number] | ['stop-work', number[], number], orElse: T): Promise<T> {
  const { corr, promise } = host.asks.open(0, () => `${record[0]} on thread ${thread}`, thread);
  record[record.length - 1] = corr;
  try {
    host.control(thread, record);
  } catch (error) {
    host.asks.reject(corr, error as Error); // nothing was sent: nothing waits for an answer
    void promise.catch(() => undefined);
    throw error;
  }
  // A thread that dies meanwhile settles this through threadDown(): its actors are gone.
  return ((await promise.catch(() => orElse)) as T | undefined) ?? orElse;
}
