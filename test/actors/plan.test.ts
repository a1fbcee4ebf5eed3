// The planner's decision alone (src/actors/planner/plan.ts): no threads, rounds played by hand.

import { describe, expect, it } from 'vitest';
import { plan, type ActorSample, type EdgeSample, type PlanInput, type PlannedMove } from '../../src/actors/planner/plan.js';
import { judge, trialOf, type Trial } from '../../src/actors/planner/trial.js';
import { SteadyRates } from '../../src/actors/planner/steady-rates.js';
import { MAIN_CODE } from '../../src/actors/node/traffic-sample.js';

const TUNING = { crossCostUs: 1, cooldownMs: 2000, minEdgeRate: 100, minGain: 0, busyHigh: 0.85, busyLow: 0.5, maxMoves: 1000 };

function input(actors: ActorSample[], edges: EdgeSample[], busy: Record<number, number>, lastMoved = new Map<number, number>(), now = 10_000): PlanInput {
  return { now, threads: [1, 2], busy: new Map(Object.entries(busy).map(([t, b]) => [Number(t), b])), actors: new Map(actors.map((a) => [a.key, a])), edges, lastMoved };
}

/** A ring of n chatty actors, every other one on thread 2: each passes 50k messages/s to the next. */
function ring(n: number, where: (i: number) => number): { actors: ActorSample[]; edges: EdgeSample[] } {
  const actors = Array.from({ length: n }, (_, i) => ({ key: i + 1, thread: where(i), cpu: 0.02, rate: 50_000 }));
  const edges: EdgeSample[] = [];
  for (let i = 0; i < n; i++) {
    const from = actors[i]!;
    const to = actors[(i + 1) % n]!;
    if (from.thread !== to.thread) edges.push({ from: from.key, fromThread: from.thread, to: to.key, toThread: to.thread, rate: 50_000 });
  }
  return { actors, edges };
}

/** `trial` as a look `cooldownMs` before `now` left it: found slower (judge's 'doubt'). */
const doubted = (trial: Trial, now: number, cooldownMs: number): Trial => ({ ...trial, doubtedAt: now - cooldownMs });

function apply(actors: ActorSample[], moves: PlannedMove[]): ActorSample[] {
  return actors.map((a) => {
    const m = moves.find((x) => x.key === a.key);
    return m === undefined ? a : { ...a, thread: m.to };
  });
}

describe('the planner decides (V3)', () => {
  it('V3: chatty actors spread over two threads gather on one, and the next rounds move nothing', () => {
    const first = ring(6, (i) => (i % 2) + 1);
    const moves = plan(input(first.actors, first.edges, { 1: 0.9, 2: 0.9 }), TUNING);
    expect(moves).toHaveLength(3);
    expect(new Set(moves.map((m) => m.to)).size).toBe(1);
    expect(moves.every((m) => m.why === 'traffic')).toBe(true);
    // Next round: all on one thread, no traffic across, that thread busy, the other idle.
    const placed = apply(first.actors, moves);
    const again = ring(6, (i) => placed[i]!.thread);
    const target = moves[0]!.to;
    const lastMoved = new Map(moves.map((m) => [m.key, 10_000]));
    for (const now of [10_500, 13_000, 60_000]) {
      expect(plan(input(again.actors, again.edges, { [target]: 0.95, [3 - target]: 0.02 }, lastMoved, now), TUNING)).toEqual([]);
    }
  });

  it('V3: a group that hardly talks across threads stays as it is (minGain): its moves would risk more than they keep off the rings', () => {
    // A hub on thread 1 with four spokes beside it and four across; those across starve (Savina's
    // chameneos: the spokes beside the hub meet it first), 1,500 messages a second each way.
    const actors = Array.from({ length: 9 }, (_, i) => ({ key: i + 1, thread: i < 5 ? 1 : 2, cpu: 0.01, rate: i === 0 ? 2_000_000 : i < 5 ? 500_000 : 1500 }));
    const edges = (across: number): EdgeSample[] =>
      actors.slice(1).flatMap((a) => {
        const rate = a.thread === 1 ? 500_000 : across;
        return [
          { from: a.key, fromThread: a.thread, to: 1, toThread: 1, rate },
          { from: 1, fromThread: 1, to: a.key, toThread: a.thread, rate },
        ];
      });
    const tuning = { ...TUNING, minGain: 0.02 };
    // 4 x 2 x 1,500 = 12,000 messages a second across: 1.2% of a core at 1 us each. Stays.
    expect(plan(input(actors, edges(1500), { 1: 0.5, 2: 0.05 }), tuning)).toEqual([]);
    // Starving no more (50,000 each way): 40% of a core crosses, and those across gather with the hub.
    const moves = plan(input(actors, edges(50_000), { 1: 0.5, 2: 0.3 }), tuning);
    expect(moves.map((m) => [m.key, m.to]).sort()).toEqual([[6, 1], [7, 1], [8, 1], [9, 1]]);
    // Without the floor, the starving ones gather too.
    expect(plan(input(actors, edges(1500), { 1: 0.5, 2: 0.05 }), TUNING)).toHaveLength(4);
  });

  it('V3: the last members of a ring that is mostly gathered follow it, though little of their traffic crosses', () => {
    // 63 nodes on thread 1, one on thread 2: its two edges cross, 27k messages a second each way.
    const actors = Array.from({ length: 64 }, (_, i) => ({ key: i + 1, thread: i === 10 ? 2 : 1, cpu: 0.015, rate: i === 10 ? -1 : 27_000 }));
    const edges = [
      { from: 10, fromThread: 1, to: 11, toThread: 2, rate: 27_000 },
      { from: 11, fromThread: 2, to: 12, toThread: 1, rate: 27_000 },
    ];
    expect(plan(input(actors, edges, { 1: 0.9, 2: 0.1 }), TUNING)).toMatchObject([{ key: 11, from: 2, to: 1, why: 'traffic' }]);
  });

  it('V3: CPU-heavy actors with little traffic spread from a busy thread to an idle one, then stay', () => {
    const actors = Array.from({ length: 8 }, (_, i) => ({ key: i + 1, thread: 1, cpu: 0.125, rate: 10 }));
    const moves = plan(input(actors, [], { 1: 1, 2: 0.01 }), TUNING);
    // Until the two are about even, never past it: 0.625 against 0.385 after three (a fourth would overshoot).
    expect(moves.map((m) => [m.from, m.to, m.why])).toEqual(Array(3).fill([1, 2, 'load']));
    // Next round: both threads busy (5 and 3 actors sharing a core each): nothing moves, now or later.
    const placed = apply(actors, moves).map((a) => ({ ...a, cpu: a.thread === 1 ? 0.2 : 0.33 }));
    const lastMoved = new Map(moves.map((m) => [m.key, 10_000]));
    for (const now of [10_500, 60_000]) expect(plan(input(placed, [], { 1: 1, 2: 1 }, lastMoved, now), TUNING)).toEqual([]);
  });

  it('V3: a chatty group gathered on a busy thread is not spread again (the gap between the two tests)', () => {
    const { actors, edges } = ring(6, () => 1);
    expect(edges).toEqual([]);
    expect(plan(input(actors, edges, { 1: 1, 2: 0 }), TUNING)).toEqual([]);
  });

  it('V3: an actor whose CPU outweighs its traffic is not pulled to its peers', () => {
    const actors = [
      { key: 1, thread: 1, cpu: 0.9, rate: 1000 },
      { key: 2, thread: 2, cpu: 0.01, rate: 1000 },
    ];
    const edges = [
      { from: 1, fromThread: 1, to: 2, toThread: 2, rate: 10_000 },
      { from: 2, fromThread: 2, to: 1, toThread: 1, rate: 10_000 },
    ];
    // Actor 1's CPU (0.9) outweighs what its traffic costs across threads (20k/s x 1 us): it stays; its light peer comes.
    const moves = plan(input(actors, edges, { 1: 0.9, 2: 0.3 }), TUNING);
    expect(moves).toMatchObject([{ key: 2, from: 2, to: 1, why: 'traffic', group: [1, 2] }]);
  });

  it('V3: a group gathers where most of its work is, not where most of its members are', () => {
    // A hub and 6 busy peers on thread 1 (0.78 of a core); 9 peers on thread 2 that the hub
    // seldom reaches (a message to them crosses, and the busy ones answer first).
    const actors = [
      { key: 1, thread: 1, cpu: 0.3, rate: 400_000 },
      ...Array.from({ length: 6 }, (_, i) => ({ key: 10 + i, thread: 1, cpu: 0.08, rate: 60_000 })),
      ...Array.from({ length: 9 }, (_, i) => ({ key: 20 + i, thread: 2, cpu: 0.02, rate: 1500 })),
    ];
    const edges = actors.slice(1).flatMap((a) => [
      { from: 1, fromThread: 1, to: a.key, toThread: a.thread, rate: a.rate / 2 },
      { from: a.key, fromThread: a.thread, to: 1, toThread: 1, rate: a.rate / 2 },
    ]);
    const moves = plan(input(actors, edges, { 1: 0.95, 2: 0.2 }), TUNING);
    expect(moves.filter((m) => m.from === 1)).toEqual([]);
    expect(moves.every((m) => m.to === 1)).toBe(true);
  });

  it('V3: actors starved beside a full thread do not come from one with time to spare', () => {
    // A hub on thread 1 (saturated) with two peers beside it that it serves first (200k messages a
    // second each), and two across on an idle thread 2 that get 20k each: worth more than their
    // CPU, and yet starved.
    const actors = [
      { key: 1, thread: 1, cpu: 0.5, rate: 440_000 },
      { key: 2, thread: 1, cpu: 0.1, rate: 200_000 },
      { key: 3, thread: 1, cpu: 0.1, rate: 200_000 },
      { key: 4, thread: 2, cpu: 0.01, rate: 20_000 },
      { key: 5, thread: 2, cpu: 0.01, rate: 20_000 },
    ];
    const edges = actors.slice(1).flatMap((a) => [
      { from: a.key, fromThread: a.thread, to: 1, toThread: 1, rate: a.rate },
      { from: 1, fromThread: 1, to: a.key, toThread: a.thread, rate: a.rate },
    ]);
    expect(plan(input(actors, edges, { 1: 0.95, 2: 0.1 }), TUNING)).toEqual([]);
    // Thread 2 busy too (all the hub's peers across, say): they come.
    expect(plan(input(actors, edges, { 1: 0.95, 2: 0.6 }), TUNING).map((m) => m.key).sort()).toEqual([4, 5]);
    // Thread 1 with time to spare: they come.
    expect(plan(input(actors, edges, { 1: 0.5, 2: 0.1 }), TUNING).map((m) => m.key).sort()).toEqual([4, 5]);
    // Handling as much as those beside the hub (not starved): they come onto the full thread.
    const fed = actors.map((a) => (a.thread === 2 ? { ...a, rate: 200_000 } : a));
    const fedEdges = edges.map((e) => (e.from >= 4 || e.to >= 4 ? { ...e, rate: 200_000 } : e));
    expect(plan(input(fed, fedEdges, { 1: 0.95, 2: 0.1 }), TUNING).map((m) => m.key).sort()).toEqual([4, 5]);
    // A producer across handles one message (main's ask) and sends its peer a stream: its
    // traffic is what crossed, not what it handled. It comes.
    const producer = [
      { key: 1, thread: 1, cpu: 0.5, rate: 2_000_000 },
      { key: 2, thread: 2, cpu: 0.01, rate: 10 },
    ];
    const stream = [{ from: 2, fromThread: 2, to: 1, toThread: 1, rate: 2_000_000 }];
    expect(plan(input(producer, stream, { 1: 0.95, 2: 0.1 }), TUNING)).toMatchObject([{ key: 2, to: 1 }]);
  });

  it('V3: onto a busy thread a group comes whole or not at all: one member not worth its CPU there keeps them all apart', () => {
    // A hub on a busy thread 1 with two peers on thread 2: one sends it 20k messages a second
    // (worth its 0.01 of a core), the other 2k (light enough to belong with them, but not worth
    // its 0.005 on a busy thread: 2k/s x 1 us = 0.002).
    const actors = [
      { key: 1, thread: 1, cpu: 0.5, rate: 22_000 },
      { key: 2, thread: 2, cpu: 0.01, rate: 20_000 },
      { key: 3, thread: 2, cpu: 0.005, rate: 2000 },
    ];
    const edges = [
      { from: 2, fromThread: 2, to: 1, toThread: 1, rate: 20_000 },
      { from: 3, fromThread: 2, to: 1, toThread: 1, rate: 2000 },
    ];
    expect(plan(input(actors, edges, { 1: 0.95, 2: 0.1 }), TUNING)).toEqual([]);
    // With time to spare on thread 1, both come.
    expect(plan(input(actors, edges, { 1: 0.5, 2: 0.1 }), TUNING).map((m) => m.key).sort()).toEqual([2, 3]);
  });

  it('V3: a trial measures the threads, not the group alone, and judges a gathering that stalled half done', () => {
    // A hub (1, not in the group: pinned) on thread 1, with peers 2 and 3 on thread 2 and 4 on thread 1.
    const before = new Map<number, ActorSample>([
      [2, { key: 2, thread: 2, cpu: 0.01, rate: 10_000 }],
      [3, { key: 3, thread: 2, cpu: 0.01, rate: 10_000 }],
      [4, { key: 4, thread: 1, cpu: 0.01, rate: 80_000 }],
    ]);
    const moves: PlannedMove[] = [{ key: 2, from: 2, to: 1, why: 'traffic', group: [2, 4] }];
    const trial = trialOf(moves, before, 0)!;
    expect(trial.group).toEqual([2, 4]);
    expect([...trial.measured].sort()).toEqual([2, 3, 4]); // 3 shares a thread the move left
    expect(trial.before).toBe(100_000);
    const busy = new Map([[1, 0.95]]);
    // The moved peer handles far more, its thread's neighbour less: 20k + 10k + 60k, less than 0.9 of before.
    const after = new Map<number, ActorSample>([
      [2, { key: 2, thread: 1, cpu: 0.01, rate: 20_000 }],
      [3, { key: 3, thread: 2, cpu: 0.01, rate: 10_000 }],
      [4, { key: 4, thread: 1, cpu: 0.01, rate: 55_000 }],
    ]);
    expect(judge(doubted(trial, 5000, 1000), after, 5000, 1000, [], 0, busy, 0.8)).toBe('revert');
    // A group still split (a member stayed behind, its traffic still crosses): not judged while
    // it may still gather, judged as it stands once it stalled.
    const split = { ...trial, group: [2, 3, 4] };
    const crossing = [{ from: 3, fromThread: 2, to: 4, toThread: 1, rate: 5000 }];
    expect(judge(split, after, 1500, 1000, crossing, 100, busy, 0.8)).toBe('wait');
    expect(judge(doubted(split, 2000, 1000), after, 2000, 1000, crossing, 100, busy, 0.8)).toBe('revert');
  });

  it('V4: an actor that cannot move anchors its peers on its thread; one that just moved waits', () => {
    const actors = [
      { key: 1, thread: 1, cpu: 0.01, rate: 5000 },
      { key: 3, thread: 1, cpu: 0.01, rate: 5000 },
    ];
    // Actor 2 (pinned: not among the movable) lives on thread 2 and talks with both.
    const edges = [
      { from: 2, fromThread: 2, to: 1, toThread: 1, rate: 5000 },
      { from: 2, fromThread: 2, to: 3, toThread: 1, rate: 5000 },
    ];
    expect(plan(input(actors, edges, { 1: 0.5, 2: 0.5 }), TUNING).map((m) => [m.key, m.to])).toEqual([
      [1, 2],
      [3, 2],
    ]);
    expect(plan(input(actors, edges, { 1: 0.5, 2: 0.5 }, new Map([[1, 9_000]])), TUNING).map((m) => m.key)).toEqual([3]);
  });

  it('ignores traffic below the threshold, and never moves an actor onto a thread it may not use', () => {
    const actors = [
      { key: 1, thread: 1, cpu: 0.01, rate: 50 },
      { key: 2, thread: 2, cpu: 0.01, rate: 50 },
    ];
    expect(plan(input(actors, [{ from: 1, fromThread: 1, to: 2, toThread: 2, rate: 50 }], { 1: 0.1, 2: 0.1 }), TUNING)).toEqual([]);
    // Traffic from the main thread (0) pulls nothing there unless main may take actors.
    expect(plan(input(actors, [{ from: 9, fromThread: 0, to: 2, toThread: 2, rate: 50_000 }], { 1: 0.1, 2: 0.1 }), TUNING)).toEqual([]);
    expect(plan(input(actors, [{ from: MAIN_CODE, fromThread: 0, to: 2, toThread: 2, rate: 50_000 }], { 1: 0.1, 2: 0.1 }), TUNING)).toEqual([]);
  });

  it('V3: a gathering that made its actors slower is undone, and they tie no group together while held', () => {
    const { actors, edges } = ring(4, (i) => (i % 2) + 1);
    const moves = plan(input(actors, edges, { 1: 0.5, 2: 0.5 }), TUNING);
    const trial = trialOf(moves, new Map(actors.map((a) => [a.key, a])), 10_000)!;
    expect(trial.from.size).toBe(2);
    expect(trial.group).toHaveLength(4);
    expect(trial.before).toBe(200_000);
    const after = (rate: number): Map<number, ActorSample> => new Map(apply(actors, moves).map((a) => [a.key, { ...a, rate }]));
    expect(judge(trial, after(10_000), 11_000, 2000)).toBe('wait'); // its cooldown runs
    expect(judge(trial, after(0), 13_000, 2000)).toBe('wait'); // no load to judge by
    expect(judge(trial, after(60_000), 13_000, 2000)).toBe('keep');
    expect(judge(doubted(trial, 13_000, 2000), after(30_000), 13_000, 2000)).toBe('revert');
    // Kept within the rates' own spread of what it did before (0.98), not 5% below it (0.95).
    expect(judge(trial, after(49_000), 13_000, 2000)).toBe('keep');
    expect(judge(doubted(trial, 13_000, 2000), after(47_500), 13_000, 2000)).toBe('revert');
    // Less handled with time to spare on their thread: they were sent less, not slowed; with
    // that thread busy, slowed.
    expect(judge(trial, after(30_000), 13_000, 2000, [], 0, new Map([[1, 0.3]]), 0.8)).toBe('wait');
    expect(judge(doubted(trial, 13_000, 2000), after(30_000), 13_000, 2000, [], 0, new Map([[1, 0.95]]), 0.8)).toBe('revert');
    // Still spread (a chain gathers over rounds), or a rate not known yet (just arrived): not judged yet.
    expect(judge(trial, new Map(actors.map((a) => [a.key, { ...a, rate: 1 }])), 13_000, 2000)).toBe('wait');
    expect(judge(trial, new Map(apply(actors, moves).map((a) => [a.key, { ...a, rate: moves.some((m) => m.key === a.key) ? -1 : 1 }])), 13_000, 2000)).toBe('wait');
    // Gathered, but a member still talks across threads (with an actor outside the group): not yet.
    const outside = [{ from: 99, fromThread: 2, to: trial.group[0]!, toThread: 1, rate: 5000 }];
    expect(judge(trial, after(30_000), 13_000, 2000, outside, 100)).toBe('wait');
    // Held, the same traffic ties nothing together: no move.
    const held = { ...input(actors, edges, { 1: 0.5, 2: 0.5 }), held: new Set(trial.group) };
    expect(plan(held, TUNING)).toEqual([]);
  });

  it('V3: a gathering that reads slower is looked at again a cooldown later, and goes back only if it still does', () => {
    const { actors, edges } = ring(4, (i) => (i % 2) + 1);
    const moves = plan(input(actors, edges, { 1: 0.5, 2: 0.5 }), TUNING);
    const trial = trialOf(moves, new Map(actors.map((a) => [a.key, a])), 10_000)!;
    const after = (rate: number): Map<number, ActorSample> => new Map(apply(actors, moves).map((a) => [a.key, { ...a, rate }]));
    // The first look that finds it slower only doubts it (the core may have slowed for a second).
    expect(judge(trial, after(30_000), 13_000, 2000)).toBe('doubt');
    const doubt = { ...trial, doubtedAt: 13_000 };
    // Within a cooldown of that look, the rounds overlap it: not judged again.
    expect(judge(doubt, after(30_000), 14_000, 2000)).toBe('wait');
    // A cooldown later: as fast as before, kept; still slower, undone.
    expect(judge(doubt, after(60_000), 15_000, 2000)).toBe('keep');
    expect(judge(doubt, after(30_000), 15_000, 2000)).toBe('revert');
  });

  it('V3: a trial compares means over rounds: one round of a placement is not known, a move starts afresh', () => {
    const rates = new SteadyRates();
    const round = (...a: [key: number, thread: number, rate: number][]): Map<number, ActorSample> => new Map(a.map(([key, thread, rate]) => [key, { key, thread, cpu: 0.01, rate }]));
    rates.add(round([1, 1, -1], [2, 2, -1])); // first seen: rates not known
    rates.add(round([1, 1, 1000], [2, 2, 10]));
    expect(rates.known(1)).toBe(false);
    rates.add(round([1, 1, 3000], [2, 2, 30]));
    expect(rates.known(1)).toBe(true);
    expect(rates.steady(round([1, 1, 0], [2, 2, 0])).get(1)!.rate).toBe(2000);
    rates.add(round([1, 1, 5000], [2, 2, 50]));
    rates.add(round([1, 1, 7000], [2, 2, 70]));
    expect(rates.steady(round([1, 1, 0])).get(1)!.rate).toBe(5000); // the last three rounds
    // Moved: what it did on its old thread says nothing of the new one.
    rates.add(round([1, 2, -1], [2, 2, 90]));
    expect(rates.known(1)).toBe(false);
    expect(rates.steady(round([1, 2, 0])).get(1)!.rate).toBe(-1);
    // A trial judged on the means: one fast round after a slow gathering does not keep it.
    const trial = { from: new Map([[1, 1]]), group: [1, 2], measured: [1, 2], before: 10_000, at: 0 };
    for (const r of [2000, 2000, 12_000]) rates.add(round([1, 2, r], [2, 2, 2000]));
    expect(judge(doubted(trial, 5000, 1000), rates.steady(round([1, 2, 12_000], [2, 2, 2000])), 5000, 1000)).toBe('revert');
    expect(judge(trial, round([1, 2, 12_000], [2, 2, 2000]), 5000, 1000)).toBe('keep'); // by the last round alone
    // Not reported for five rounds: forgotten.
    for (let i = 0; i < 5; i++) rates.add(round([2, 2, 10]));
    expect(rates.known(1)).toBe(false);
  });

  it('V3: a gathering waits until its members have run on their threads a while (rates of a program still warming would judge it)', () => {
    const rates = new SteadyRates();
    const round = (thread: number, rate: number): Map<number, ActorSample> => new Map([[1, { key: 1, thread, cpu: 0.01, rate }]]);
    expect(rates.age(1)).toBe(0); // never seen
    rates.add(round(1, -1));
    for (let i = 0; i < 4; i++) rates.add(round(1, 1000));
    expect(rates.age(1)).toBe(4);
    expect(rates.known(1)).toBe(true);
    rates.add(round(2, -1)); // moved: its age starts again on its new thread
    expect(rates.age(1)).toBe(0);
    rates.add(round(2, 1000));
    expect(rates.age(1)).toBe(1);
  });
});

describe('the planner and the main thread (V3)', () => {
  const onMain = (actors: ActorSample[], edges: EdgeSample[], busy: Record<number, number>, lastMoved = new Map<number, number>(), now = 10_000): PlanInput => ({
    ...input(actors, edges, busy, lastMoved, now),
    main: true,
  });
  /** Main's own code sends `rate` messages a second to `to` on `toThread`. */
  const fromMain = (to: number, toThread: number, rate: number): EdgeSample => ({ from: MAIN_CODE, fromThread: 0, to, toThread, rate });

  it("V3: light actors that main's own code keeps busy come to main, each weighed alone; a heavy one stays", () => {
    // 100k messages a second each: 1 us a message is 10% of a core. Actors 1 and 2 use 1% and 3%
    // (they come), 3 uses 20% (it stays): main's code does not tie them together.
    const actors = [
      { key: 1, thread: 1, cpu: 0.01, rate: 100_000 },
      { key: 2, thread: 2, cpu: 0.03, rate: 100_000 },
      { key: 3, thread: 2, cpu: 0.2, rate: 100_000 },
    ];
    const edges = [fromMain(1, 1, 100_000), fromMain(2, 2, 100_000), fromMain(3, 2, 100_000)];
    const moves = plan(onMain(actors, edges, { 0: 1, 1: 0.3, 2: 0.5 }), TUNING);
    expect(moves.map((m) => [m.key, m.from, m.to, m.why])).toEqual([
      [1, 1, 0, 'traffic'],
      [2, 2, 0, 'traffic'],
    ]);
    // Without `main`, nothing comes.
    expect(plan(input(actors, edges, { 0: 1, 1: 0.3, 2: 0.5 }), TUNING)).toEqual([]);
    // Once there, with the same traffic (now within main), they stay, round after round.
    const there = apply(actors, moves);
    const local = [fromMain(1, 0, 100_000), fromMain(2, 0, 100_000), fromMain(3, 2, 100_000)];
    const lastMoved = new Map(moves.map((m) => [m.key, 10_000]));
    for (const now of [10_500, 13_000, 60_000]) expect(plan(onMain(there, local, { 0: 0.9, 1: 0.1, 2: 0.4 }, lastMoved, now), TUNING)).toEqual([]);
  });

  it('V3: a group comes to main whole or not at all, and only if what it saves main outweighs its handlers', () => {
    // 1 is driven by main; 2 talks only to 1. Together they use 4% of a core against what 100k
    // messages with main cost across threads (10%): they come, both.
    const actors = [
      { key: 1, thread: 1, cpu: 0.02, rate: 150_000 },
      { key: 2, thread: 2, cpu: 0.02, rate: 50_000 },
    ];
    const edges = [fromMain(1, 1, 100_000), { from: 1, fromThread: 1, to: 2, toThread: 2, rate: 50_000 }];
    expect(plan(onMain(actors, edges, { 0: 0.5, 1: 0.5, 2: 0.5 }), TUNING).map((m) => [m.key, m.to])).toEqual([
      [1, 0],
      [2, 0],
    ]);
    // 2 heavier (9%): the two together would cost more than they save; neither comes.
    const heavier = [actors[0]!, { ...actors[1]!, cpu: 0.09 }];
    expect(plan(onMain(heavier, edges, { 0: 0.5, 1: 0.5, 2: 0.5 }), TUNING).filter((m) => m.to === 0)).toEqual([]);
    // Heavy for what it handles (2 us a message over its last rounds), though light for the
    // burst main's code sent it this round: it stays.
    const burst = [fromMain(3, 2, 100_000)];
    expect(plan(onMain([{ key: 3, thread: 2, cpu: 0.02, rate: 100_000 }], burst, { 0: 0.5, 1: 0.5, 2: 0.5 }), TUNING).map((m) => m.key)).toEqual([3]);
    expect(plan(onMain([{ key: 3, thread: 2, cpu: 0.02, rate: 10_000 }], burst, { 0: 0.5, 1: 0.5, 2: 0.5 }), TUNING)).toEqual([]);
    // 2 just moved: it cannot come yet, and 1 does not come alone.
    expect(plan(onMain(actors, edges, { 0: 0.5, 1: 0.5, 2: 0.5 }, new Map([[2, 9_000]])), TUNING)).toEqual([]);
  });

  it('V3: an actor placed on main draws its light peers there as main\'s code does', () => {
    const actors = [{ key: 1, thread: 2, cpu: 0.01, rate: 80_000 }];
    // 9 is placed on main (not among the movable).
    const edges = [{ from: 9, fromThread: 0, to: 1, toThread: 2, rate: 40_000 }, { from: 1, fromThread: 2, to: 9, toThread: 0, rate: 40_000 }];
    expect(plan(onMain(actors, edges, { 0: 0.5, 1: 0.5, 2: 0.5 }), TUNING).map((m) => [m.key, m.to])).toEqual([[1, 0]]);
  });

  it('V3: a group that main would not take, tied to it by a word now and then, still gathers on a worker', () => {
    // Savina's big: a group of chatty actors split over the workers; main's code starts each run
    // and an actor placed on main hears from each when it ends. Sampled, those few messages read
    // as edges like any other, which makes main the group's anchor; main refuses the group (its
    // handlers cost far more than its messages with main), and it gathered nowhere.
    const { actors, edges } = ring(6, (i) => (i % 2) + 1);
    const withMainTies = [...edges, fromMain(1, 1, 320), fromMain(2, 2, 320), { from: 3, fromThread: 1, to: 9, toThread: 0, rate: 320 }];
    const moves = plan(onMain(actors, withMainTies, { 0: 0.1, 1: 0.5, 2: 0.5 }), TUNING);
    expect(moves).toHaveLength(3);
    expect(moves.every((m) => m.why === 'traffic' && m.to !== 0)).toBe(true);
    expect(new Set(moves.map((m) => m.to)).size).toBe(1);
    // Gathered: the ties to main stay across threads, and nothing moves again.
    const there = apply(actors, moves);
    const t = moves[0]!.to;
    const after = [fromMain(1, t, 320), fromMain(2, t, 320), { from: 3, fromThread: t, to: 9, toThread: 0, rate: 320 }];
    expect(plan(onMain(there, after, { 0: 0.1, 1: 0.5, 2: 0.5 }, new Map(), 60_000), TUNING)).toEqual([]);
  });

  it('V3: when main will not take the rest of a group, what main already took stays there', () => {
    // 1 came to main (light, driven by main's code); 2 on thread 1, heavy for what it handles,
    // talks with it. Main will not take 2; nor does 1 leave for 2's thread, where it would be
    // pulled from a place main admitted it to, and from where main's test would bring it back.
    const actors = [
      { key: 1, thread: 0, cpu: 0.01, rate: 100_000 },
      { key: 2, thread: 1, cpu: 0.5, rate: 20_000 },
    ];
    const edges = [fromMain(1, 0, 100_000), { from: 1, fromThread: 0, to: 2, toThread: 1, rate: 20_000 }];
    expect(plan(onMain(actors, edges, { 0: 0.5, 1: 0.6, 2: 0.2 }), TUNING)).toEqual([]);
    // A member away in its cooldown: the group waits for it, and nothing gathers on a worker meanwhile.
    const light = [{ key: 1, thread: 1, cpu: 0.01, rate: 100_000 }, { key: 2, thread: 2, cpu: 0.01, rate: 20_000 }];
    const split = [fromMain(1, 1, 100_000), { from: 1, fromThread: 1, to: 2, toThread: 2, rate: 20_000 }];
    expect(plan(onMain(light, split, { 0: 0.5, 1: 0.5, 2: 0.5 }, new Map([[2, 9_000]])), TUNING)).toEqual([]);
  });

  it('V3: a group on main whose handlers came to cost twice its share of what it handles goes, whole, to the least busy worker; below that it stays', () => {
    const there = [
      { key: 1, thread: 0, cpu: 0.02, rate: 100_000 },
      { key: 2, thread: 0, cpu: 0.02, rate: 50_000 },
    ];
    const edges = [fromMain(1, 0, 100_000), { from: 1, fromThread: 0, to: 2, toThread: 0, rate: 50_000 }];
    // 150k messages handled a second: the bound is 30% of a core. At 4%, then 22% (above what
    // admitted it: 10% for the 100k from main), it stays.
    expect(plan(onMain(there, edges, { 0: 0.9, 1: 0.6, 2: 0.2 }), TUNING)).toEqual([]);
    const heavier = [there[0]!, { ...there[1]!, cpu: 0.2 }];
    expect(plan(onMain(heavier, edges, { 0: 0.9, 1: 0.6, 2: 0.2 }), TUNING)).toEqual([]);
    // 32%: both go to thread 2.
    const heavy = [there[0]!, { ...there[1]!, cpu: 0.3 }];
    expect(plan(onMain(heavy, edges, { 0: 0.9, 1: 0.6, 2: 0.2 }), TUNING).map((m) => [m.key, m.from, m.to, m.why])).toEqual([
      [1, 0, 2, 'load'],
      [2, 0, 2, 'load'],
    ]);
    // Not while main has time to spare.
    expect(plan(onMain(heavy, edges, { 0: 0.5, 1: 0.6, 2: 0.2 }), TUNING)).toEqual([]);
    // One that lost its traffic with main and burns CPU goes alone; an idle one stays.
    const alone = [
      { key: 5, thread: 0, cpu: 0.3, rate: 10 },
      { key: 6, thread: 0, cpu: 0, rate: 0 },
      { key: 7, thread: 0, cpu: 0.002, rate: 0 }, // a trace of CPU, nothing handled: it costs main nothing
    ];
    expect(plan(onMain(alone, [], { 0: 0.9, 1: 0.6, 2: 0.2 }), TUNING).map((m) => [m.key, m.to])).toEqual([[5, 2]]);
    // Nothing is spread to main for load, however idle it is.
    const crowded = Array.from({ length: 4 }, (_, i) => ({ key: i + 1, thread: 1, cpu: 0.25, rate: 10 }));
    expect(plan(onMain(crowded, [], { 0: 0, 1: 1, 2: 0.95 }), TUNING)).toEqual([]);
  });
});
