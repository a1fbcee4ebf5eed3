// What each actor handled over its last few rounds on one thread, for the planner's trials
// (trial.ts judge): one round's rate says little (a run of the workload that began or ended in
// it, a collection, the machine's other tenants), and a gathering judged by one round before and
// one after was kept or undone by chance. A gathering waits until its members were measured over
// MIN_ROUNDS; the trial compares their mean rate before with their mean after. And it waits
// until each member has run on its thread for a while (age, WARM_MS in planner.ts): a program's
// first second runs code not yet optimized, its rates rising round after round, and a gathering
// judged against those was kept for the warming alone.

import type { ActorSample } from './plan.js';

/** Rounds a mean is taken over, and how many it needs to count. */
const ROUNDS = 3;
const MIN_ROUNDS = 2;
/** An actor not reported for this many rounds in a row is forgotten (idle, stopped, moved). */
const FORGET_AFTER = 5;

interface Seen {
  thread: number;
  rates: number[];
  /** The CPU it used in the same rounds. */
  cpus: number[];
  /** The round it was last reported in. */
  round: number;
  /** The round it was first reported in on this thread. */
  since: number;
}

export class SteadyRates {
  readonly #seen = new Map<number, Seen>();
  #round = 0;

  /** One round's samples. An actor's rates start afresh on the thread it moved to. */
  add(actors: ReadonlyMap<number, ActorSample>): void {
    const round = ++this.#round;
    for (const a of actors.values()) {
      let seen = this.#seen.get(a.key);
      if (seen === undefined || seen.thread !== a.thread) this.#seen.set(a.key, (seen = { thread: a.thread, rates: [], cpus: [], round, since: round }));
      seen.round = round;
      if (a.rate < 0) continue;
      seen.rates.push(a.rate);
      seen.cpus.push(a.cpu);
      if (seen.rates.length > ROUNDS) {
        seen.rates.shift();
        seen.cpus.shift();
      }
    }
    for (const [key, seen] of this.#seen) if (round - seen.round >= FORGET_AFTER) this.#seen.delete(key);
  }

  /**
   * Forgets the rates and CPU measured so far (not how long each actor has been on its thread):
   * after a rest (planner.ts), means over rounds before and after it would mix two loads.
   */
  restart(): void {
    for (const seen of this.#seen.values()) {
      seen.rates.length = 0;
      seen.cpus.length = 0;
    }
  }

  /** True once `key` was measured over MIN_ROUNDS on the thread it is on. */
  known(key: number): boolean {
    return (this.#seen.get(key)?.rates.length ?? 0) >= MIN_ROUNDS;
  }

  /** Rounds since `key` was first reported on the thread it is on (0: not seen). */
  age(key: number): number {
    const seen = this.#seen.get(key);
    return seen === undefined ? 0 : this.#round - seen.since;
  }

  /** The samples with each rate the mean of its last rounds on its thread (-1 until known). */
  steady(actors: ReadonlyMap<number, ActorSample>): Map<number, ActorSample> {
    const out = new Map<number, ActorSample>();
    for (const a of actors.values()) {
      const seen = this.#seen.get(a.key);
      const known = seen !== undefined && seen.thread === a.thread && seen.rates.length >= MIN_ROUNDS;
      out.set(a.key, { ...a, rate: known ? seen.rates.reduce((x, y) => x + y, 0) / seen.rates.length : -1 });
    }
    return out;
  }

  /**
   * Each actor's CPU and rate as means over its last rounds on the thread it is on, for those
   * measured over MIN_ROUNDS there: the main thread's tests read these (plan.ts), one round's
   * CPU of a light actor being a few times off either way, or none at all in a round it was not
   * timed.
   */
  means(actors: ReadonlyMap<number, ActorSample>): Map<number, { cpu: number; rate: number }> {
    const out = new Map<number, { cpu: number; rate: number }>();
    const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    for (const a of actors.values()) {
      const seen = this.#seen.get(a.key);
      if (seen !== undefined && seen.thread === a.thread && seen.rates.length >= MIN_ROUNDS) out.set(a.key, { cpu: mean(seen.cpus), rate: mean(seen.rates) });
    }
    return out;
  }
}
