// The planner, on the main thread: every interval it asks each worker what it sampled (who sent
// to whom across threads, how much CPU each actor's runs took; node/traffic-sample.ts), reads
// each thread's busy time from shared memory, decides (plan.ts) and moves actors
// (node/moves.ts). Off unless the system is created with `planner`; then the workers sample
// (but while it rests: REST_ROUNDS), and nothing else changes for actors that never need to move. With `main` (the default), the
// main thread samples too, and groups its own code keeps busy may come to it (plan.ts).

import { ActorPinnedError } from '../../errors.js';
import type { ControlBlock } from '../../runtime/control-block.js';
import { STAT_BUSY_NS } from '../../runtime/layout.js';
import { MAX_LOCATED_SLOT } from '../../runtime/liveness.js';
import type { ActorRefImpl } from '../actor-ref.js';
import type { NodeCore } from '../node/node-core.js';
import type { TrafficReport } from '../node/traffic-sample.js';
import { plan, type ActorSample, type EdgeSample, type PlanTuning, type PlannedMove } from './plan.js';
import { judge, trialOf, type Trial } from './trial.js';
import { SteadyRates } from './steady-rates.js';
import { RestWatch } from './rest-watch.js';
import { trace, tracing } from '../debug-log.js';

export interface PlannerOptions extends PlanTuning {
  /** How often it samples and decides. */
  readonly intervalMs: number;
  /** Actors may come to the main thread (plan.ts). */
  readonly main: boolean;
}

/** The cost model's constants (plan.ts), with the interval, cooldown and use of main the system options give. */
export function plannerOptions(intervalMs: number, cooldownMs: number, main: boolean): PlannerOptions {
  return { intervalMs, cooldownMs, main, crossCostUs: 1, minEdgeRate: 200, minGain: MIN_GAIN, busyHigh: 0.8, busyLow: 0.5, maxMoves: 10_000 };
}

/** What the planner needs of the main thread's host. */
export interface PlannerHost extends NodeCore {
  readonly workers: number;
  /** Main's own samples (node/traffic-sample.ts). */
  readonly sampler: { report(): TrafficReport; stop(): void };
  isLive(thread: number): boolean;
  move(ref: ActorRefImpl, to: number): Promise<void>;
}

/**
 * A gathering must keep 2% of a core off the rings (20,000 messages a second at the cost model's
 * 1 us). Chameneos placed with the mall and half the creatures on one thread hardly crosses: the
 * creatures beside the mall meet it first and those across starve (3,400 messages a second
 * crossed, of 11M handled). Gathered, all sixteen meet it, and the run took 1.16x as long (twin
 * systems, no move in either, placed at spawn: 36.8 ms against 31.6). A group that talks across
 * threads in earnest (a ring, big, a stream) crosses hundreds of thousands a second.
 */
const MIN_GAIN = 0.02;

/** How long actors whose gathering was undone tie no group together. */
const HELD_MS = 60_000;
/**
 * How long an actor runs on its thread before its rates judge a gathering: chameneos on 2
 * threads took 45-60 ms a run in its first second and 31 ms once warm, and a gathering kept
 * against the first rates (4.2M msg/s before, 6.3M after) ran at 0.84x of the split it replaced.
 */
const WARM_MS = 1000;
/**
 * A planner with nothing to do rests. Sampling costs the threads it runs on: chameneos, all on
 * one thread where nothing would move it, got 4% less done while its thread sampled (one system,
 * its sampling turned on and off in turns, 36 blocks of each, twice: 0.961 and 0.958; timing runs
 * is most of it, counting messages under 1%). So once QUIET_MS (or a cooldown, if longer) has
 * gone by with nothing decided, no gathering on trial and every actor measured and warm, it stops
 * the sampling for a rest, then looks again: one round restarts the sampling, and the means start
 * afresh (steady-rates.ts: a mean over rounds before and after a rest would mix two loads), so two
 * are read before it rests again. Anything decided there, or an actor new to its thread, and it
 * stays awake. The first rest is REST_ROUNDS; each that ends with nothing to do doubles the next,
 * up to MAX_REST_MS. While it rests it reads what shared memory holds anyway (rest-watch.ts):
 * a thread's busy share or the traffic between two threads that changed wakes it within a few
 * rounds, and the change is acted on once its actors are measured again. What those counters
 * cannot show (traffic within one thread, CPU moving between actors of one thread) waits for the
 * rest's end.
 */
const QUIET_MS = 2000;
const REST_ROUNDS = 6;
const MAX_REST_MS = 5000;

export class Planner {
  readonly #host: PlannerHost;
  readonly #ctl: ControlBlock;
  readonly #options: PlannerOptions;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** The round under way, if any. */
  #current: Promise<void> | null = null;
  #closed = false;
  /** Busy milliseconds and wall time at the last round, per thread. */
  readonly #busyAt = new Map<number, number>();
  /**
   * Main's event loop use at the last round: all of main's work, its own code's with its
   * actors' (its turns alone would count only the latter).
   */
  #mainAt = performance.eventLoopUtilization();
  #lastAt = 0;
  /** The next round's samples describe what was before (a move, or a rest): it decides nothing. */
  #stale = false;
  /** Since when the rounds decided nothing (null: the last one did). */
  #quietSince: number | null = null;
  /** Rounds left to rest (0: awake). */
  #resting = 0;
  /** How many rounds the next rest lasts. */
  #restRounds = REST_ROUNDS;
  /** The longest rest, in rounds (MAX_REST_MS). */
  readonly #maxRestRounds: number;
  /** Threads' load and traffic from shared memory, read every round: a change ends a rest. */
  readonly #watch: RestWatch;
  /** Awake after a rest, until every actor is measured again: unknown rates then keep it quiet. */
  #woke = false;
  /** Gatherings on trial (trial.ts judge). */
  #trials: Trial[] = [];
  /** Actors whose gathering was undone, until when they tie no group together. */
  readonly #held = new Map<number, number>();
  readonly #lastMoved = new Map<number, number>();
  /** Each actor's rate over its last rounds, for trials. */
  readonly #rates = new SteadyRates();
  /** WARM_MS in rounds. */
  readonly #warmRounds: number;

  /** `messages(from, to)`: user messages thread `from` has written into its ring to `to` (topology.ts), for the rest's watch. */
  constructor(host: PlannerHost, ctl: ControlBlock, options: PlannerOptions, messages: (from: number, to: number) => number = () => 0) {
    this.#host = host;
    this.#ctl = ctl;
    this.#options = options;
    this.#warmRounds = Math.ceil(WARM_MS / options.intervalMs);
    this.#maxRestRounds = Math.max(REST_ROUNDS, Math.ceil(MAX_REST_MS / options.intervalMs));
    this.#watch = new RestWatch({
      busyMs: (thread) => (thread === 0 ? performance.eventLoopUtilization().active : ctl.stats(thread)[STAT_BUSY_NS]!),
      messages,
    });
  }

  start(): void {
    this.#lastAt = performance.now();
    this.#mainAt = performance.eventLoopUtilization();
    for (let t = 1; t <= this.#host.workers; t++) this.#busyAt.set(t, this.#ctl.stats(t)[STAT_BUSY_NS]!);
    this.#schedule();
  }

  /** Stops deciding and tells the workers to stop sampling. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (let t = 1; t <= this.#host.workers; t++) if (this.#host.isLive(t)) this.#host.control(t, ['plan-off']);
    if (this.#options.main) this.#host.sampler.stop();
  }

  /** Resolves once no round is under way (after close(), none starts). */
  async idle(): Promise<void> {
    await this.#current;
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const round = (this.#current = this.#round().catch(() => undefined));
      void round.then(() => {
        this.#current = null;
        this.#schedule();
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const host = this.#host;
    const threads: number[] = [];
    // Sampled on every live worker; actors move only to those a liveness byte can name.
    for (let t = 1; t <= host.workers; t++) if (host.isLive(t)) threads.push(t);
    const sampled = this.#options.main ? [0, ...threads] : threads;
    this.#watch.look(sampled, performance.now());
    if (this.#resting > 0) {
      const change = this.#watch.changed();
      if (change !== null) {
        if (tracing) trace(`planner: wakes, ${change}`);
        this.#resting = 1;
        this.#restRounds = REST_ROUNDS;
      }
      if (--this.#resting > 0) return;
      // Awake: this round restarts the sampling (#stale), and the means start afresh.
      this.#watch.wake();
      this.#rates.restart();
      this.#woke = true;
    }
    const reports = await Promise.all(sampled.map((t) => (t === 0 ? host.sampler.report() : this.#ask(t))));
    if (this.#closed) return;
    const now = performance.now();
    const seconds = Math.max(1e-3, (now - this.#lastAt) / 1000);
    this.#lastAt = now;
    const busy = new Map<number, number>();
    for (const t of threads) {
      const ms = this.#ctl.stats(t)[STAT_BUSY_NS]!;
      busy.set(t, Math.min(1, (ms - (this.#busyAt.get(t) ?? ms)) / 1000 / seconds));
      this.#busyAt.set(t, ms);
    }
    if (this.#options.main) {
      const elu = performance.eventLoopUtilization();
      busy.set(0, performance.eventLoopUtilization(elu, this.#mainAt).utilization);
      this.#mainAt = elu;
    }
    const actors = new Map<number, ActorSample>();
    const edges: EdgeSample[] = [];
    // A child's messages are its tree's: a tree moves as one, under its root (traffic-sample.ts).
    const rootOf = new Map<number, number>();
    for (const report of reports) if (report !== null) for (const [child, root] of report[2]) rootOf.set(child, root);
    reports.forEach((report, i) => {
      if (report === null) return;
      const thread = sampled[i]!;
      const [sampledEdges, sampledActors] = report;
      for (const [key, cpuMs, rate] of sampledActors) actors.set(key, { key, thread, cpu: cpuMs / 1000 / seconds, rate });
      for (const [to, from, fromThread, count, every] of sampledEdges) {
        edges.push({ from: rootOf.get(from) ?? from, fromThread, to: rootOf.get(to) ?? to, toThread: thread, rate: (count * every) / seconds });
      }
    });
    // What was sampled while actors moved describes where they were: the round after one that
    // moved decides nothing; nor does the one that restarts the sampling after a rest.
    if (this.#stale) {
      this.#stale = false;
      return;
    }
    this.#rates.add(actors);
    const steady = this.#rates.steady(actors);
    const wall = Date.now();
    // Gatherings that made their actors slower go back where they came from, and stay apart a while.
    const back: PlannedMove[] = [];
    this.#trials = this.#trials.flatMap((trial) => {
      const verdict = judge(trial, steady, wall, this.#options.cooldownMs, edges, this.#options.minEdgeRate, busy, this.#options.busyHigh);
      if (tracing && verdict !== 'wait') trace(`planner: ${verdict} gathering of ${trial.group.length} (${trial.measured.length} measured, ${Math.round(trial.before)} msg/s before, ${Math.round(trial.measured.reduce((n, k) => n + Math.max(0, steady.get(k)?.rate ?? 0), 0))} after)`);
      if (verdict === 'doubt') return [{ ...trial, doubtedAt: wall }]; // looked at again a cooldown later
      if (verdict === 'wait') return wall - trial.at < this.#options.cooldownMs * 10 ? [trial] : [];
      if (verdict === 'revert') {
        for (const key of trial.group) this.#held.set(key, wall + HELD_MS);
        for (const [key, from] of trial.from) {
          const a = actors.get(key);
          if (a !== undefined && a.thread !== from) back.push({ key, from: a.thread, to: from, why: 'revert' });
        }
      }
      return [];
    });
    for (const [key, until] of this.#held) if (until < wall) this.#held.delete(key);
    const decided = back.length > 0 ? [] : plan({ now: wall, threads: threads.filter((t) => t <= MAX_LOCATED_SLOT), busy, actors, edges, lastMoved: this.#lastMoved, held: new Set(this.#held.keys()), main: this.#options.main, steady: this.#options.main ? this.#rates.means(actors) : undefined }, this.#options);
    // A gathering waits until what its members handle is known over a few rounds: its trial
    // compares with that. The round's load moves counted on it, so they wait with it.
    // And until each has run on its thread for WARM_MS (steady-rates.ts).
    const ready = (m: PlannedMove): boolean => m.why !== 'traffic' || (m.group ?? [m.key]).every((k) => !actors.has(k) || (this.#rates.known(k) && this.#rates.age(k) >= this.#warmRounds));
    const planned = decided.every(ready) ? decided : decided.filter((m) => m.why === 'traffic' && ready(m));
    const moves = [...back, ...planned];
    this.#restIfQuiet(decided.length + back.length === 0, actors, wall, threads);
    if (moves.length === 0) return;
    const trial = trialOf(planned, steady, wall);
    if (trial !== null) this.#trials.push(trial);
    this.#stale = true;
    if (tracing) for (const m of moves) trace(`planner: move ${m.key} ${m.from}->${m.to} (${m.why}, cpu ${(actors.get(m.key)?.cpu ?? 0).toFixed(3)}, busy ${[...busy].map(([t, b]) => `${t}:${b.toFixed(2)}`).join(' ')})`);
    const at = Date.now();
    await Promise.all(
      moves.map((m) => {
        this.#lastMoved.set(m.key, at);
        return host.move(host.refFor(m.from, m.key), m.to).catch((error: unknown) => {
          // Pinned since it was sampled, stopped, or its thread died: it stays where it is.
          if (!(error instanceof ActorPinnedError)) return;
        });
      }),
    );
    // Forget what moved long ago: an actor's entry matters only during its cooldown.
    for (const [key, t] of this.#lastMoved) if (at - t > this.#options.cooldownMs * 2) this.#lastMoved.delete(key);
  }

  /** Rests (QUIET_MS) once rounds that decided nothing have gone on long enough. */
  #restIfQuiet(nothing: boolean, actors: ReadonlyMap<number, ActorSample>, wall: number, threads: readonly number[]): void {
    const rates = this.#rates;
    const measured = [...actors.keys()].every((k) => rates.known(k) && rates.age(k) >= this.#warmRounds);
    if (nothing && this.#trials.length === 0 && !measured && this.#woke) return; // measured again over the next rounds
    this.#woke = false;
    if (!nothing || this.#trials.length > 0 || !measured) {
      this.#quietSince = null;
      this.#restRounds = REST_ROUNDS;
      return;
    }
    this.#quietSince ??= wall;
    if (wall - this.#quietSince < Math.max(QUIET_MS, this.#options.cooldownMs)) return;
    if (tracing) trace(`planner: rests ${this.#restRounds} rounds`);
    for (const t of threads) this.#host.control(t, ['plan-off']);
    if (this.#options.main) this.#host.sampler.stop();
    this.#resting = this.#restRounds;
    this.#restRounds = Math.min(this.#maxRestRounds, this.#restRounds * 2);
    this.#watch.rest();
    this.#stale = true;
  }

  /** A worker's samples since the last round; null if it did not answer (it died). */
  #ask(thread: number): Promise<TrafficReport | null> {
    const host = this.#host;
    const { corr, promise } = host.asks.open<TrafficReport>(0, () => `planner samples of thread ${thread}`, thread);
    host.control(thread, ['plan-sample', corr]);
    return promise.catch(() => null);
  }
}
