// The planner's decision, a pure function of what the threads measured over one interval: which
// actors to move where. Two pulls, one cost model. A message between two threads costs about
// `crossCostUs` of CPU more than one between two actors of one thread (encoding, the ring,
// decoding, waking the reader), so an actor whose handlers use little CPU next to what its
// traffic would cost across threads runs faster beside its peers: a group of actors that talk
// to each other (a component of the traffic graph) that spans threads gathers on one, the one
// where most of its work is already. An actor whose handlers use much more CPU than its traffic
// costs runs faster on a core of its own: from a busy thread, such actors go to an idle one,
// until the two are about even. The two tests leave a gap between them (an actor gathers below 4x, is spread above
// 16x), and an actor that moved waits `cooldownMs` before it moves again, so no actor goes back
// and forth under a steady load.
//
// The main thread is where the program's own code runs (a server, a loop of tells), so it takes
// actors by a stricter test (`main`): a group that main's code or an actor placed on main keeps
// busy comes to main only if its handlers cost less than its messages with main cost across
// threads (MAIN_ADMIT): the program spends less, and main takes on no more than it and the
// worker spent on those messages; one it will not take gathers on a worker as any other. While
// main is busy, a group there whose handlers come to cost more than MAIN_EVICT cross-thread
// messages for each message it handles goes back to the least busy worker (one under IDLE_CPU
// stays). Nothing spreads to main for load.

import { MAIN_CODE } from '../node/traffic-sample.js';

/** One actor that may move, as its thread measured it over the interval. */
export interface ActorSample {
  readonly key: number;
  readonly thread: number;
  /** Share of a core its handlers used (sampled runs). */
  readonly cpu: number;
  /** Messages it handled per second; -1 while not known yet (first seen). */
  readonly rate: number;
}

/** Messages per second from one actor to another, on another thread or the same (sampled at the receiver). */
export interface EdgeSample {
  readonly from: number;
  readonly fromThread: number;
  readonly to: number;
  readonly toThread: number;
  readonly rate: number;
}

export interface PlanInput {
  readonly now: number;
  /** Threads actors may move to (the workers that run). */
  readonly threads: readonly number[];
  /** Share of a core each thread spent in its turns over the interval. */
  readonly busy: ReadonlyMap<number, number>;
  /** The actors that may move (not pinned, not placed by the user), by key. */
  readonly actors: ReadonlyMap<number, ActorSample>;
  readonly edges: readonly EdgeSample[];
  /** When each actor last moved. */
  readonly lastMoved: ReadonlyMap<number, number>;
  /** Actors whose gathering was tried and undone (see trial.ts judge): they tie no group together for a while. */
  readonly held?: ReadonlySet<number>;
  /**
   * Groups tied to the main thread may come to it (thread 0; its actors are among `actors` and
   * its busy share in `busy`), and edges from MAIN_CODE are main's own code. Without it, edges
   * that touch main are not read.
   */
  readonly main?: boolean;
  /**
   * Each actor's CPU and rate as means over its last rounds on its thread, where known: the
   * tests of the main thread read these (without them, this round's samples).
   */
  readonly steady?: ReadonlyMap<number, { readonly cpu: number; readonly rate: number }>;
}

export interface PlanTuning {
  /** CPU a message between threads costs beyond one within a thread, in microseconds. */
  readonly crossCostUs: number;
  /** An actor that moved stays at least this long. */
  readonly cooldownMs: number;
  /** Traffic below this (messages per second between two actors) ties nothing together. */
  readonly minEdgeRate: number;
  /**
   * A gathering must keep at least this share of a core off the rings (the messages it makes
   * local, at `crossCostUs` each) to be worth its moves; 0 for any.
   */
  readonly minGain: number;
  /** A thread busier than this may hand actors to one less busy than busyLow. */
  readonly busyHigh: number;
  readonly busyLow: number;
  /** Moves per round at most. */
  readonly maxMoves: number;
}

export interface PlannedMove {
  readonly key: number;
  readonly from: number;
  readonly to: number;
  readonly why: 'traffic' | 'load' | 'revert';
  /** A gathering move: every member of the group it joins (on the move's thread or coming). */
  readonly group?: readonly number[];
}

/** Gathers below this ratio of CPU to traffic cost; spreads above SPREAD_RATIO. */
const GATHER_RATIO = 4;
const SPREAD_RATIO = 16;
/** An actor whose rate is not known yet gathers only if it uses less of a core than this. */
const UNKNOWN_CPU = 0.05;
/**
 * A group comes to main only if its CPU is below MAIN_ADMIT times what its messages with main
 * cost across threads; it goes back once its CPU on main is above MAIN_EVICT times that cost for
 * every message it handles (counted exactly, where its messages with main are sampled: one in
 * hundreds or thousands on a thread that many pass, too few to tell one actor's from none in
 * every round). The gap is wider than it looks: a light actor's runs on a worker measure twice
 * as long per message as on main (fewer messages a run, a core shared with main's), fork-join's
 * 0.5-0.9 us against 0.28 us.
 */
const MAIN_ADMIT = 1;
const MAIN_EVICT = 2;
/** An actor across from its group's full thread with less traffic than this share of the median member's there is starved by it. */
const STARVED = 0.25;
/** A group on main under this share of a core never leaves it for load: it costs main nothing. */
const IDLE_CPU = 0.01;

export function plan(input: PlanInput, tuning: PlanTuning): PlannedMove[] {
  const moves: PlannedMove[] = [];
  const moved = new Set<number>();
  const cost = tuning.crossCostUs / 1e6; // seconds of CPU per message
  const workers = new Set(input.threads);
  /** Threads whose actors the traffic test reads: the workers, and main if it may take actors. */
  const places = new Set(input.main === true ? [0, ...input.threads] : input.threads);
  const settled = (key: number): boolean => input.now - (input.lastMoved.get(key) ?? -Infinity) >= tuning.cooldownMs;

  // Each actor's traffic: what it handled, or what crossed to and from it if that is more.
  const traffic = new Map<number, number>();
  for (const a of input.actors.values()) traffic.set(a.key, a.rate);
  const crossOf = new Map<number, number>();
  /** Each actor's edges, either way. */
  const edgesOf = new Map<number, EdgeSample[]>();
  const addEdge = (k: number, e: EdgeSample): void => {
    const list = edgesOf.get(k);
    if (list === undefined) edgesOf.set(k, [e]);
    else list.push(e);
  };
  for (const e of input.edges) {
    if (e.from === e.to) continue;
    crossOf.set(e.from, (crossOf.get(e.from) ?? 0) + e.rate);
    crossOf.set(e.to, (crossOf.get(e.to) ?? 0) + e.rate);
    addEdge(e.from, e);
    addEdge(e.to, e);
  }
  for (const [key, rate] of crossOf) traffic.set(key, Math.max(traffic.get(key) ?? 0, rate));

  // ---- traffic: components of actors that talk across threads gather on one thread ----------
  const parent = new Map<number, number>();
  const find = (k: number): number => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    for (let c = k; c !== r; ) {
      const next = parent.get(c)!;
      parent.set(c, r);
      c = next;
    }
    return r;
  };
  const threadOf = new Map<number, number>();
  // Where an actor is now: its own thread's report says so; an edge says where it was when sampled.
  const where = (k: number, sampled: number): number => input.actors.get(k)?.thread ?? sampled;
  /** Messages per second between `k` and the actors on thread `t`. */
  const withThread = (k: number, t: number): number => {
    let rate = 0;
    for (const e of edgesOf.get(k) ?? []) {
      const other = e.from === k ? where(e.to, e.toThread) : where(e.from, e.fromThread);
      if (other === t) rate += e.rate;
    }
    return rate;
  };
  /** Messages per second between `k` and what cannot leave main: its own code and the actors placed there. */
  const withMain = (k: number): number => {
    let rate = 0;
    for (const e of edgesOf.get(k) ?? []) {
      const other = e.from === k ? e.to : e.from;
      if (other === MAIN_CODE || (!input.actors.has(other) && where(other, e.from === k ? e.toThread : e.fromThread) === 0)) rate += e.rate;
    }
    return rate;
  };
  /** Messages per second that cross threads now and would not once `coming` is on `target`. */
  const savedBy = (coming: readonly ActorSample[], target: number): number => {
    const moving = new Set(coming.map((a) => a.key));
    const after = (k: number, sampled: number): number => (moving.has(k) ? target : where(k, sampled));
    let saved = 0;
    for (const a of coming) {
      for (const e of edgesOf.get(a.key) ?? []) {
        const other = e.from === a.key ? e.to : e.from;
        if (moving.has(other) && other < a.key) continue; // counted from its other end
        const otherSampled = e.from === a.key ? e.toThread : e.fromThread;
        if (where(other, otherSampled) !== a.thread && after(other, otherSampled) === target) saved += e.rate;
      }
    }
    return saved;
  };
  /**
   * True when every actor in `coming` is on a thread under busyLow and its traffic (what it
   * handled, or what crossed to and from it if more: a producer handles one message and sends
   * millions) is less than STARVED of the median of the group's members on `target`.
   */
  const starved = (members: readonly number[], coming: readonly ActorSample[], target: number): boolean => {
    const there = members.flatMap((k) => {
      const a = input.actors.get(k);
      return a !== undefined && a.thread === target && a.rate >= 0 ? [traffic.get(k) ?? 0] : [];
    });
    if (there.length === 0) return false;
    there.sort((x, y) => x - y);
    const median = there[there.length >> 1]!;
    return coming.every((a) => (input.busy.get(a.thread) ?? 0) < tuning.busyLow && a.rate >= 0 && (traffic.get(a.key) ?? 0) < STARVED * median);
  };
  /** An actor's CPU and rate over its last rounds (steady-rates.ts), if known. */
  const steadyOf = (k: number): { readonly cpu: number; readonly rate: number } | undefined => {
    if (input.steady !== undefined) return input.steady.get(k);
    const a = input.actors.get(k);
    return a === undefined || a.rate < 0 ? undefined : a;
  };
  /** Actors that main's own code sends to (or asks) at minEdgeRate or more. */
  const drivenByMain = new Set<number>();
  // Components of the traffic graph: the messages within a thread tie a group together as much
  // as those across threads (a group split over two threads is one group).
  for (const e of input.edges) {
    const fromThread = where(e.from, e.fromThread);
    const toThread = where(e.to, e.toThread);
    if (e.rate < tuning.minEdgeRate || e.from === e.to || !places.has(fromThread) || !places.has(toThread)) continue;
    if (input.held !== undefined && (input.held.has(e.from) || input.held.has(e.to))) continue;
    if (e.from === MAIN_CODE) {
      // Main's code ties each actor it drives to main, not to one another (each group is weighed alone).
      if (!parent.has(e.to)) parent.set(e.to, e.to);
      threadOf.set(e.to, toThread);
      drivenByMain.add(e.to);
      continue;
    }
    for (const [k, t] of [[e.from, fromThread], [e.to, toThread]] as const) {
      if (!parent.has(k)) parent.set(k, k);
      threadOf.set(k, t);
    }
    const a = find(e.from);
    const b = find(e.to);
    if (a !== b) parent.set(a, b);
  }
  const components = new Map<number, number[]>();
  for (const k of parent.keys()) {
    const root = find(k);
    const members = components.get(root);
    if (members === undefined) components.set(root, [k]);
    else members.push(k);
  }
  // An actor belongs with its group if it can move and its own CPU does not outweigh its
  // traffic (one whose rate is not known yet, only if its CPU is small); the others stay where
  // they are. One that just moved waits out its cooldown.
  const belongs = (k: number): boolean => {
    const a = input.actors.get(k);
    if (a === undefined) return false;
    return a.cpu < GATHER_RATIO * cost * (traffic.get(k) ?? 0) || (a.rate < 0 && a.cpu < UNKNOWN_CPU);
  };
  /**
   * Main takes a group whole (every member not on main yet comes; none is pinned elsewhere), and
   * only if its handlers cost less than the messages the move keeps off the rings. Its traffic
   * with main is this round's sample; its CPU and what it handled, means over the same rounds
   * (one that caught it idle weighs on both alike): a CPU-heavy actor seen idle in a round, sent
   * a burst by main, stays away by the second test.
   */
  const mainTakes = (members: readonly number[], coming: readonly ActorSample[]): 'yes' | 'not yet' | 'no' => {
    for (const k of members) if (!input.actors.has(k) && threadOf.get(k) !== 0) return 'no';
    if (coming.length === 0) return 'not yet'; // every member away is in its cooldown
    let cpu = 0;
    let rate = 0;
    let handled = 0;
    for (const a of coming) {
      const steady = steadyOf(a.key);
      cpu += steady?.cpu ?? Infinity;
      handled += steady?.rate ?? 0;
      rate += withMain(a.key);
    }
    if (cpu >= MAIN_ADMIT * cost * Math.min(rate, handled)) return 'no';
    // Those that can come pass, but a member cannot yet (its cooldown, or not light enough this
    // round): the group waits. Gathered on a worker now, it would move twice once main took it.
    return coming.length < members.filter((k) => threadOf.get(k) !== 0).length ? 'not yet' : 'yes';
  };
  for (const members of components.values()) {
    // The thread to gather on: where the members that cannot move are, else where most of the
    // group's work is (the CPU of its members there: the least work moves, and an actor whose
    // CPU keeps it in place pulls its light peers to it), the thread with more members and
    // then the less busy one breaking ties.
    const pinned = new Map<number, number>();
    const work = new Map<number, number>();
    const counts = new Map<number, number>();
    for (const k of members) {
      const t = threadOf.get(k)!;
      counts.set(t, (counts.get(t) ?? 0) + 1);
      const a = input.actors.get(k);
      if (a === undefined) pinned.set(t, (pinned.get(t) ?? 0) + 1);
      else work.set(t, (work.get(t) ?? 0) + a.cpu);
    }
    if (members.some((k) => drivenByMain.has(k))) {
      // Main's code: one more member, one that cannot move.
      counts.set(0, (counts.get(0) ?? 0) + 1);
      pinned.set(0, (pinned.get(0) ?? 0) + 1);
    }
    if (counts.size < 2) continue;
    /** The thread to gather on; main only if `onMain` (and then only for a group tied to it). */
    const pick = (onMain: boolean): number => {
      const anchored = [...pinned.keys()].some((t) => t !== 0 || onMain);
      let target = -1;
      const better = (t: number): boolean => {
        if (target < 0) return true;
        for (const weigh of anchored ? [pinned, counts] : [work, counts]) {
          const a = weigh.get(t) ?? 0;
          const b = weigh.get(target) ?? 0;
          if (a !== b) return a > b;
        }
        return (input.busy.get(t) ?? 0) < (input.busy.get(target) ?? 0);
      };
      for (const t of counts.keys()) if ((t !== 0 || (onMain && pinned.has(0))) && better(t)) target = t;
      return target;
    };
    /** The members that come to `target` (`offMain`: none from main, which took them by its own test). */
    const comingTo = (target: number, offMain = false): ActorSample[] => {
      const coming: ActorSample[] = [];
      for (const k of members) {
        const a = input.actors.get(k);
        if (a === undefined || a.thread === target || (offMain && a.thread === 0) || moved.has(k) || !settled(k) || !belongs(k)) continue;
        coming.push(a);
      }
      return coming;
    };
    let target = pick(true);
    let coming = comingTo(target);
    const verdict = target === 0 ? mainTakes(members, coming) : 'yes';
    if (verdict === 'not yet') continue;
    if (verdict === 'no') {
      // Main would not take it: it gathers on a worker as if main's ties were not there (they
      // stay across threads; a group that talks mostly within itself, with a word to main now
      // and then, is still a group). Those already on main stay: main admitted them by its own
      // test, and only its own eviction sends them away (pulled off here, they would come back).
      target = pick(false);
      if (target < 0) continue;
      coming = comingTo(target, true);
    }
    // Onto a thread with no time to spare, an actor is worth its CPU there only where its
    // messages with the actors there (across threads now, within one after) cost more than that
    // CPU; and the group comes whole or not at all. Part of it gathered is the worst of both: the
    // full thread takes on the CPU of those that came and still pays for the messages of those
    // that could not, and these (starved beside a full thread) seldom measure worth their move.
    if (target !== 0 && (input.busy.get(target) ?? 0) > tuning.busyHigh && coming.some((a) => a.cpu >= cost * withThread(a.key, target))) continue;
    // Nor do starved actors come from threads with time to spare onto one with none. Beside a
    // full thread, peers that handle a fraction of what their group there handles are starved
    // by it (a hub serves those beside it first), not slowed by the ring: gathered, they take
    // their full share of a thread that has none to give, which then does all their work to
    // save only reading their messages off a ring (in batches, on a full thread). Chameneos with
    // half its creatures across from the mall: gathered, 0.86x the run's pace (twin systems
    // placed at spawn), and a trial undid it (0.90). The last node of a ring across from the
    // rest handles what every node does, and follows it.
    if (target !== 0 && (input.busy.get(target) ?? 0) > tuning.busyHigh && starved(members, coming, target)) continue;
    // A group that hardly talks across threads gains less than its moves risk (MIN_GAIN).
    if (savedBy(coming, target) * cost < tuning.minGain) continue;
    for (const a of coming) {
      moves.push({ key: a.key, from: a.thread, to: target, why: 'traffic', group: members });
      moved.add(a.key);
      if (moves.length >= tuning.maxMoves) return moves;
    }
  }

  // ---- main: while main is busy and the groups there cost it more than MAIN_EVICT cross-thread
  // messages for each message they handle, the heaviest per message goes to the least busy
  // worker, whole. Weighed all together: each actor's CPU is a sample (thread-runtime.ts
  // timeRuns: a timed run stands for the dozens of short runs since the last, whoever ran them),
  // true in sum but off by a few times for one of a thread's many light actors, and by far more
  // where the machine's other tenants stall a timed run. A main thread with time to spare keeps
  // them: they delay nothing of its own. -------------------------------------------------------
  if (input.main === true && input.threads.length > 0 && (input.busy.get(0) ?? 0) >= tuning.busyHigh) {
    const groups = new Map<number, ActorSample[]>();
    for (const a of input.actors.values()) {
      if (a.thread !== 0 || moved.has(a.key) || steadyOf(a.key) === undefined) continue;
      const root = parent.has(a.key) ? find(a.key) : a.key;
      const list = groups.get(root);
      if (list === undefined) groups.set(root, [a]);
      else list.push(a);
    }
    let cpu = 0;
    let rate = 0;
    const weighed: { group: ActorSample[]; cpu: number; rate: number }[] = [];
    for (const group of groups.values()) {
      const w = { group, cpu: 0, rate: 0 };
      for (const a of group) {
        const s = steadyOf(a.key)!;
        w.cpu += s.cpu;
        w.rate += s.rate;
      }
      cpu += w.cpu;
      rate += w.rate;
      // One that uses next to no CPU costs main nothing, however little it handles.
      if (w.cpu >= IDLE_CPU && group.every((a) => settled(a.key))) weighed.push(w);
    }
    const bound = (r: number): number => MAIN_EVICT * cost * r;
    if (cpu > bound(rate)) {
      let coolest = input.threads[0]!;
      for (const t of input.threads) if ((input.busy.get(t) ?? 0) < (input.busy.get(coolest) ?? 0)) coolest = t;
      weighed.sort((x, y) => y.cpu * Math.max(1, x.rate) - x.cpu * Math.max(1, y.rate));
      for (const w of weighed) {
        if (cpu <= bound(rate)) break;
        cpu -= w.cpu;
        rate -= w.rate;
        for (const a of w.group) {
          moves.push({ key: a.key, from: 0, to: coolest, why: 'load' });
          moved.add(a.key);
          if (moves.length >= tuning.maxMoves) return moves;
        }
      }
    }
  }

  // ---- load: from a busy thread to an idle one, the actors whose CPU outweighs their traffic --
  const load = new Map<number, number>();
  for (const t of input.threads) load.set(t, input.busy.get(t) ?? 0);
  for (const m of moves) {
    const cpu = input.actors.get(m.key)!.cpu;
    if (load.has(m.from)) load.set(m.from, load.get(m.from)! - cpu);
    if (load.has(m.to)) load.set(m.to, load.get(m.to)! + cpu);
  }
  const byThread = new Map<number, ActorSample[]>();
  for (const a of input.actors.values()) {
    // A member of a group that talks stays with it (the traffic test above decides for it).
    if (moved.has(a.key) || !settled(a.key) || !workers.has(a.thread) || a.rate < 0 || parent.has(a.key)) continue;
    if (a.cpu <= SPREAD_RATIO * cost * (traffic.get(a.key) ?? 0)) continue;
    const list = byThread.get(a.thread);
    if (list === undefined) byThread.set(a.thread, [a]);
    else list.push(a);
  }
  for (const list of byThread.values()) list.sort((x, y) => y.cpu - x.cpu);
  for (;;) {
    let hot = -1;
    let cold = -1;
    for (const [t, l] of load) {
      if (l > tuning.busyHigh && (byThread.get(t)?.length ?? 0) > 0 && (hot < 0 || l > load.get(hot)!)) hot = t;
      if (l < tuning.busyLow && (cold < 0 || l < load.get(cold)!)) cold = t;
    }
    if (hot < 0 || cold < 0) return moves;
    // Until the two are about even: each time the largest actor that does not overshoot (after
    // the move the hot thread is still the busier of the two).
    const list = byThread.get(hot)!;
    for (;;) {
      const gap = load.get(hot)! - load.get(cold)!;
      const at = list.findIndex((a) => a.cpu <= gap / 2);
      if (at < 0) break;
      const a = list.splice(at, 1)[0]!;
      moves.push({ key: a.key, from: hot, to: cold, why: 'load' });
      load.set(hot, load.get(hot)! - a.cpu);
      load.set(cold, load.get(cold)! + a.cpu);
      if (moves.length >= tuning.maxMoves) return moves;
    }
    byThread.set(hot, []); // done with it this round
  }
}
