// What the planner learns from one thread (planner/planner.ts): who sends to whom across
// threads and within this one (sampled: without the messages within a thread, a group of actors
// split over two threads would look like many small groups), and how much CPU each actor's runs
// take (about 10 µs of runs per timed one, every one while runs are longer: thread-runtime.ts timeRuns).
// Little is paid while no planner asks: the countdowns stand at Infinity (a decrement and a
// compare per message) and no run is timed. Once asked, one cross-thread message in 32 and one
// within the thread in 256 are counted on average, at random gaps (fewer on a thread where many
// pass: EDGE_EVERY), and a timed run costs two clock reads and a map update; each answer hands
// over what was gathered since the last and starts again. On the main thread, messages from its
// own code count too, under MAIN_CODE.

import type { Cell } from '../cell/cell.js';
import type { NodeCore } from './node-core.js';

/**
 * One message in EDGE_EVERY across threads is counted, one in LOCAL_EVERY within this thread, at
 * first. A thread that counted more than ENOUGH in a round counts half as often in the next (to
 * MAX_EVERY times fewer at most), and one that counted less than a quarter of that twice as
 * often again: counting a message costs a few map updates, a tenth of what a message costs,
 * and a thread of millions of messages a second paid it for far more samples than a planner
 * needs (its rates are known well from a thousand).
 */
const EDGE_EVERY = 32;
const LOCAL_EVERY = 256;
const MAX_EVERY = 32;
const ENOUGH = 1024;

/**
 * A thread's answer: messages between actors [to, from, from's thread, messages counted, one
 * counted in how many], its movable actors [key, cpu ms, messages handled per second (-1: not
 * known yet)], and the children among the actors it counted [child, the root of its tree]. A
 * tree moves as one (moves.ts), so it is reported as one: under its root's key, with the CPU and
 * the messages of all its members, and the planner reads a child's messages as its root's.
 */
/**
 * The sender of a message from the main thread's own code (not an actor): the planner reads it
 * as one member of the traffic graph that cannot move from main. From outside any actor on a
 * worker, a message ties its receiver to nothing.
 */
export const MAIN_CODE = -1;

export type TrafficReport = [edges: [number, number, number, number, number][], actors: [number, number, number][], trees: [number, number][]];

export class TrafficSampler {
  readonly #host: NodeCore & { isPlannable(cell: Cell): boolean };
  /** Counts down to the next cross-thread message counted (Infinity: none, until a planner asks). */
  countdown = Infinity;
  /** The same for messages within this thread. */
  localCountdown = Infinity;
  readonly #edges = new Map<number, Map<number, number>>();
  readonly #local = new Map<number, Map<number, number>>();
  readonly #fromThread = new Map<number, number>();
  readonly #cpu = new Map<number, number>();
  /** What each actor had handled when it was last reported, and when (for its rate since). */
  readonly #handled = new Map<number, { handled: number; members: number; at: number }>();
  /** One in how many is counted this round, and how many were counted. */
  #edgeEvery = EDGE_EVERY;
  #localEvery = LOCAL_EVERY;
  #edgeCounted = 0;
  #localCounted = 0;

  constructor(host: NodeCore & { isPlannable(cell: Cell): boolean }) {
    this.#host = host;
  }

  /** A message from actor `sender` on thread `from` to `target` here (called at the countdown's end). */
  edge(from: number, sender: number, target: number): void {
    this.countdown = gap(this.#edgeEvery);
    this.#edgeCounted++;
    if (sender === 0) {
      if (from !== 0) return; // from outside any actor on a worker
      sender = MAIN_CODE;
    }
    let row = this.#edges.get(target);
    if (row === undefined) this.#edges.set(target, (row = new Map()));
    row.set(sender, (row.get(sender) ?? 0) + 1);
    this.#fromThread.set(sender, from);
  }

  /** A message from actor `sender` (0: none) to `target`, both here (called at the local countdown's end). */
  localEdge(sender: number, target: number): void {
    this.localCountdown = gap(this.#localEvery);
    this.#localCounted++;
    if (sender === 0) {
      if (this.#host.self !== 0) return; // from outside any actor on a worker
      sender = MAIN_CODE;
    }
    if (sender === target) return; // to itself: ties it to nothing
    let row = this.#local.get(target);
    if (row === undefined) this.#local.set(target, (row = new Map()));
    row.set(sender, (row.get(sender) ?? 0) + 1);
  }

  /** The answer to a planner: what was gathered since the last, for the actors that may move. */
  report(): TrafficReport {
    const host = this.#host;
    if (this.countdown === Infinity) {
      this.countdown = this.#edgeEvery = EDGE_EVERY;
      this.localCountdown = this.#localEvery = LOCAL_EVERY;
      host.runtime.timeRuns((key, ms) => {
        if (key !== 0) this.#cpu.set(key, (this.#cpu.get(key) ?? 0) + ms);
      });
      // After a rest (stop()): each rate starts from now, as its CPU does, not from before the rest.
      const now = performance.now();
      for (const [key, last] of this.#handled) {
        const cell = host.cells.get(key);
        if (cell === undefined) continue;
        const tree = handledIn(cell, host);
        last.handled = tree.handled;
        last.members = tree.members;
        last.at = now;
      }
    }
    const edges: [number, number, number, number, number][] = [];
    const seen = new Set<number>();
    for (const [to, row] of this.#edges) {
      for (const [from, count] of row) edges.push([to, from, this.#fromThread.get(from)!, count, this.#edgeEvery]);
      seen.add(to);
    }
    for (const [to, row] of this.#local) {
      for (const [from, count] of row) edges.push([to, from, host.self, count, this.#localEvery]);
      seen.add(to);
    }
    for (const key of this.#cpu.keys()) seen.add(key);
    // Each actor counted stands for its tree: CPU is summed under the root.
    const trees: [number, number][] = [];
    const cpu = new Map<number, number>();
    for (const key of seen) {
      const cell = host.cells.get(key);
      if (cell === undefined) continue;
      const root = rootOf(cell, host);
      if (root !== cell) trees.push([key, root.key]);
      cpu.set(root.key, (cpu.get(root.key) ?? 0) + (this.#cpu.get(key) ?? 0));
    }
    const actors: [number, number, number][] = [];
    const now = performance.now();
    for (const [key, ms] of cpu) {
      const cell = host.cells.get(key)!;
      if (!host.isPlannable(cell)) continue;
      const last = this.#handled.get(key);
      const tree = handledIn(cell, host);
      // A tree that gained or lost members since: its rate is not known this round.
      const known = last !== undefined && now > last.at && last.members === tree.members;
      actors.push([key, ms, known ? ((tree.handled - last.handled) * 1000) / (now - last.at) : -1]);
      this.#handled.set(key, { handled: tree.handled, members: tree.members, at: now });
    }
    // Actors no longer here (moved away, stopped) are forgotten.
    for (const key of this.#handled.keys()) if (!host.cells.has(key)) this.#handled.delete(key);
    this.#edgeEvery = nextEvery(this.#edgeEvery, this.#edgeCounted, EDGE_EVERY);
    this.#localEvery = nextEvery(this.#localEvery, this.#localCounted, LOCAL_EVERY);
    this.#edgeCounted = this.#localCounted = 0;
    this.countdown = Math.min(this.countdown, this.#edgeEvery);
    this.localCountdown = Math.min(this.localCountdown, this.#localEvery);
    this.#edges.clear();
    this.#local.clear();
    this.#fromThread.clear();
    this.#cpu.clear();
    return [edges, actors, trees];
  }

  /** The planner stopped, or rests (planner.ts): nothing is counted or timed until it asks again. */
  stop(): void {
    this.countdown = Infinity;
    this.localCountdown = Infinity;
    this.#host.runtime.timeRuns(null);
  }
}

/**
 * Messages until the next one counted: `every` on average, drawn anew each time (1 to 2 every -
 * 1). A fixed gap falls in step with a program that sends in rounds: main's code telling 16
 * actors in turn, one in 256 counted, counted the same actor every time, and the other 15 looked
 * as if main never sent them anything.
 */
function gap(every: number): number {
  return 1 + Math.floor(Math.random() * (2 * every - 1));
}

/** One in how many to count next round, after counting `counted` one in `every` this round (see ENOUGH). */
function nextEvery(every: number, counted: number, least: number): number {
  if (counted > ENOUGH && every < least * MAX_EVERY) return every * 2;
  if (counted < ENOUGH / 4 && every > least) return every / 2;
  return every;
}

/** The root of `cell`'s tree on this thread (a parent elsewhere ends it: such a child is pinned). */
function rootOf(cell: Cell, host: NodeCore): Cell {
  let at = cell;
  while (at.parentKey !== 0) {
    const parent = host.cells.get(at.parentKey);
    if (parent === undefined) break;
    at = parent;
  }
  return at;
}

/** Messages handled by `cell` and its children on this thread, and how many they are. */
function handledIn(cell: Cell, host: NodeCore): { handled: number; members: number } {
  let handled = cell.handled;
  let members = 1;
  if (cell.children !== null) {
    for (const key of cell.children.keys()) {
      const child = host.cells.get(key);
      if (child === undefined) continue;
      const theirs = handledIn(child, host);
      handled += theirs.handled;
      members += theirs.members;
    }
  }
  return { handled, members };
}
