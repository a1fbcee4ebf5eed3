// Balanced placement: where a new actor goes when it may go anywhere. Power of two choices over
// the live worker threads: two picked at random, the less loaded wins. A thread's load is its
// hosted actors plus its ready backlog (published in its control block once a turn) plus the
// spawns placed on it in the last few milliseconds, which its published words do not show yet.

import type { ControlBlock } from './control-block.js';

/** How long a spawn placed on a thread counts toward its load: a burst spreads, it does not pile up. */
export const RECENT_PLACEMENT_MS = 10;

/**
 * A random worker thread (1..workers) that is alive: a random start, then the next live one
 * round the circle. 0 (main) when none is.
 */
export function liveWorker(workers: number, dead: (thread: number) => boolean, random: () => number): number {
  const start = Math.floor(random() * workers);
  for (let k = 0; k < workers; k++) {
    const t = 1 + ((start + k) % workers);
    if (!dead(t)) return t;
  }
  return 0;
}

/**
 * Power of two choices: two random live workers, the one with the lower `load` (the first on a
 * tie). Main (thread 0) hosts only what is placed there by name, so it is chosen only when there
 * is no live worker. Loads are read in order, first choice first.
 */
export function pickBalanced(workers: number, dead: (thread: number) => boolean, load: (thread: number) => number, random: () => number): number {
  if (workers === 0) return 0;
  const a = liveWorker(workers, dead, random);
  const b = liveWorker(workers, dead, random);
  return load(a) <= load(b) ? a : b;
}

/** Balanced placement for one spawning thread: pickBalanced over published loads plus its own recent placements. */
export class Placer {
  readonly #ctl: ControlBlock;
  readonly #workers: number;
  readonly #dead: (thread: number) => boolean;
  readonly #now: () => number;
  readonly #random: () => number;
  /** Spawns this thread placed on each thread since #since. */
  readonly #placed: number[];
  #since = 0;
  readonly #load = (thread: number): number => this.load(thread);

  /**
   * `workers`: worker threads 1..workers (dedicated threads, numbered above, are never placed on
   * here); `dead`: true for a thread that died; `now`: milliseconds; `random`: in [0, 1).
   */
  constructor(ctl: ControlBlock, workers: number, dead: (thread: number) => boolean, now: () => number, random: () => number = Math.random) {
    this.#ctl = ctl;
    this.#workers = workers;
    this.#dead = dead;
    this.#now = now;
    this.#random = random;
    this.#placed = new Array<number>(workers + 1).fill(0);
  }

  /** The thread for the next balanced spawn; counted toward its load from now on. */
  pick(): number {
    if (this.#workers === 0) return 0;
    const thread = pickBalanced(this.#workers, this.#dead, this.#load, this.#random);
    this.#placed[thread]!++;
    return thread;
  }

  /**
   * Hosted actors + ready backlog + spawns placed here lately. The recent counts start over
   * once RECENT_PLACEMENT_MS have passed since they last did.
   */
  load(thread: number): number {
    const now = this.#now();
    if (now - this.#since > RECENT_PLACEMENT_MS) {
      this.#placed.fill(0);
      this.#since = now;
    }
    return this.#ctl.actors(thread) + this.#ctl.load(thread) + (this.#placed[thread] ?? 0);
  }
}
