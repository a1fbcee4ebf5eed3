// A gathering on trial: the cost model (plan.ts) is a guess, so the planner checks what the
// threads a gathering touched get done once its cooldown is over, and undoes one that made them
// slower (planner.ts).

import type { ActorSample, EdgeSample, PlannedMove } from './plan.js';

/**
 * Actors moved to gather a group, on trial: the cost model is a guess (messages that stream in
 * batches cost less across threads than it says, and a group may have run faster in parallel), so
 * the planner checks what the threads they left and joined get done once their cooldown is over.
 * The threads, not the group alone: a group's members can handle more after a gathering while the
 * actors they share a bottleneck with (a hub outside the group, or one of its own members left
 * behind) handle less, and the program runs slower.
 */
export interface Trial {
  /** The actors that moved, and the thread each came from. */
  readonly from: ReadonlyMap<number, number>;
  /** Every member of the groups they joined: judged once all of them are on one thread. */
  readonly group: readonly number[];
  /** Whose rates are summed: the group, and the actors on the threads the moves left and joined. */
  readonly measured: readonly number[];
  /** Messages per second those handled, together, before the moves. */
  readonly before: number;
  readonly at: number;
  /**
   * When a look first found it slower. It is looked at again a cooldown later, over rounds that
   * do not overlap the first look's, and goes back only if it still reads slower: a shared
   * machine's cores change speed for a second or two at a time (its other tenants). Chameneos on one
   * thread, never moved, ran 35 ms a run, then 72 ms for twenty runs, then 35 again; a look that
   * fell in such a stretch undid a gathering (11.9M msg/s before, 6.5M after, 11.3M once back:
   * two moves for nothing). A gathering that is slower stays a cooldown longer.
   */
  readonly doubtedAt?: number;
}

/**
 * Below this share of what they handled before, gathered actors go back. Both sides are means
 * over a few rounds (steady-rates.ts): a gathering is kept when it does as well as the placement
 * before it or better (less than this below is the rates' own spread), and a split that ran
 * faster (pipelined over two cores, say) is given back. At 0.9, chameneos on 2 threads kept a
 * gathering measured at 0.95 of the split it replaced, and ran that much slower for good.
 */
const REGRESSION = 0.97;

/**
 * A gathering still split this many cooldowns after it began has gone as far as it will (members
 * that stayed behind could not come, or measured not worth it): it is judged as it stands.
 */
const STALLED_COOLDOWNS = 2;

/**
 * Once the group of `trial` is all on one thread and none of its members talks across threads
 * any more (a chain gathers over several rounds, its parts seen as groups of their own, and only
 * the last step shows), or once it stalled split (STALLED_COOLDOWNS): if what it measures (Trial)
 * now handles less than REGRESSION of what it did before while the thread the group gathered on
 * is busy (`busy` at least `busyHigh`), 'doubt' the first time (the planner notes when:
 * `doubtedAt`), 'wait' for a cooldown after that, then 'revert'; else 'keep'. 'wait' while its
 * cooldown runs, while it still talks across threads and has not stalled, or while it handles
 * nothing or less with time to spare on that thread: then it was sent less (the program's load
 * fell), and its rate says nothing of its placement.
 */
export function judge(
  trial: Trial,
  actors: ReadonlyMap<number, ActorSample>,
  now: number,
  cooldownMs: number,
  edges: readonly EdgeSample[] = [],
  minEdgeRate = 0,
  busy: ReadonlyMap<number, number> = new Map(),
  busyHigh = 0,
): 'keep' | 'revert' | 'wait' | 'doubt' {
  if (now - trial.at < cooldownMs) return 'wait';
  const stalled = now - trial.at >= STALLED_COOLDOWNS * cooldownMs;
  const members = new Set(trial.group);
  if (!stalled) {
    for (const e of edges) {
      if (e.rate < minEdgeRate || e.from === e.to || !(members.has(e.from) || members.has(e.to))) continue;
      const fromThread = actors.get(e.from)?.thread ?? e.fromThread;
      const toThread = actors.get(e.to)?.thread ?? e.toThread;
      if (fromThread !== toThread) return 'wait';
    }
  }
  let thread = -1;
  for (const k of trial.group) {
    const a = actors.get(k);
    if (a === undefined) continue; // not reported this time (idle, or it cannot move)
    if (!stalled && thread >= 0 && a.thread !== thread) return 'wait';
    // The thread it gathered on: where those that moved are.
    if (thread < 0 || trial.from.has(k)) thread = a.thread;
  }
  let after = 0;
  for (const k of trial.measured) {
    const a = actors.get(k);
    if (a === undefined) continue;
    // Just arrived on its thread, its rate there is not known yet: judged on a later round.
    if (a.rate < 0) return 'wait';
    after += a.rate;
  }
  if (after === 0) return 'wait';
  if (after >= REGRESSION * trial.before) return 'keep';
  if ((busy.get(thread) ?? 1) < busyHigh) return 'wait';
  if (trial.doubtedAt === undefined) return 'doubt';
  return now - trial.doubtedAt < cooldownMs ? 'wait' : 'revert';
}

/** The trial of a round's gathering moves, if what their groups handled before is known. */
export function trialOf(moves: readonly PlannedMove[], actors: ReadonlyMap<number, ActorSample>, at: number): Trial | null {
  const gathered = moves.filter((m) => m.why === 'traffic');
  if (gathered.length === 0) return null;
  const group = new Set<number>();
  for (const m of gathered) for (const k of m.group ?? [m.key]) group.add(k);
  const threads = new Set<number>();
  for (const m of gathered) threads.add(m.from).add(m.to);
  // Those whose rate is known: one not known yet has nothing to compare with.
  const measured = [...group].filter((k) => (actors.get(k)?.rate ?? -1) >= 0);
  for (const a of actors.values()) if (threads.has(a.thread) && !group.has(a.key) && a.rate >= 0) measured.push(a.key);
  let before = 0;
  for (const k of measured) before += actors.get(k)!.rate;
  if (before === 0) return null;
  return { from: new Map(gathered.map((m) => [m.key, m.from])), group: [...group], measured, before, at };
}
