// What the planner learns from one thread (planner/planner.ts): who sends to whom across
// threads (sampled), and how much CPU each actor's runs take (every run timed: a long run here
// and there would make a sample of them say little). Nothing is paid while no planner asks: the
// countdown starts at Infinity and no run is timed. Once asked, one cross-thread message in 32
// is counted (a decrement and a compare per message otherwise), and each run costs a clock read
// and a map update; each answer hands over what was gathered since the last and starts again.

import type { Cell } from '../cell/cell.js';
import type { NodeCore } from './node-core.js';

/** One message in EDGE_EVERY across threads is counted. */
const EDGE_EVERY = 32;

/** A thread's answer: cross-thread messages [to, from, from's thread, count] (one counted in `every`), and its movable actors [key, cpu ms, handled since last]. */
export type TrafficReport = [edges: [number, number, number, number][], actors: [number, number, number][], every: number];

export class TrafficSampler {
  readonly #host: NodeCore & { isPlannable(cell: Cell): boolean };
  /** Counts down to the next cross-thread message counted (Infinity: none, until a planner asks). */
  countdown = Infinity;
  readonly #edges = new Map<number, Map<number, number>>();
  readonly #fromThread = new Map<number, number>();
  readonly #cpu = new Map<number, number>();
  /** What each actor had handled at the last answer (for the rate since). */
  #handled = new Map<number, number>();

  constructor(host: NodeCore & { isPlannable(cell: Cell): boolean }) {
    this.#host = host;
  }

  /** A message from actor `sender` on thread `from` to `target` here (called at the countdown's end). */
  edge(from: number, sender: number, target: number): void {
    this.countdown = EDGE_EVERY;
    if (sender === 0) return; // from outside any actor
    let row = this.#edges.get(target);
    if (row === undefined) this.#edges.set(target, (row = new Map()));
    row.set(sender, (row.get(sender) ?? 0) + 1);
    this.#fromThread.set(sender, from);
  }

  /** The answer to a planner: what was gathered since the last, for the actors that may move. */
  report(): TrafficReport {
    const host = this.#host;
    if (this.countdown === Infinity) {
      this.countdown = EDGE_EVERY;
      host.runtime.timeRuns((key, ms) => {
        if (key !== 0) this.#cpu.set(key, (this.#cpu.get(key) ?? 0) + ms);
      });
    }
    const edges: [number, number, number, number][] = [];
    const seen = new Set<number>();
    for (const [to, row] of this.#edges) {
      for (const [from, count] of row) edges.push([to, from, this.#fromThread.get(from)!, count]);
      seen.add(to);
    }
    for (const key of this.#cpu.keys()) seen.add(key);
    const actors: [number, number, number][] = [];
    const handled = new Map<number, number>();
    for (const key of seen) {
      const cell = host.cells.get(key);
      if (cell === undefined || !host.isPlannable(cell)) continue;
      actors.push([key, this.#cpu.get(key) ?? 0, cell.handled - (this.#handled.get(key) ?? cell.handled)]);
      handled.set(key, cell.handled);
    }
    this.#handled = handled;
    this.#edges.clear();
    this.#fromThread.clear();
    this.#cpu.clear();
    return [edges, actors, EDGE_EVERY];
  }

  /** No planner asks any more: nothing is counted or timed. */
  stop(): void {
    this.countdown = Infinity;
    this.#host.runtime.timeRuns(null);
  }
}
