// The planner with real threads (SEMANTICS V3, V4): actors that talk gather on one thread, CPU
// spreads from a busy thread to an idle one, placements given at spawn hold, and then nothing
// moves back and forth.

import { describe, expect, it } from 'vitest';
import { Burner, Nursery, Volley } from '../fixtures/movers.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const threadsOf = async (system: { inspect(): Promise<{ id: string; thread: number }[]> }, ids: string[]): Promise<number[]> => {
  const info = await system.inspect();
  return ids.map((id) => info.find((a) => a.id === id)?.thread ?? -1); // -1: on its way between threads
};

describe('the planner (V3, V4)', () => {
  it('V3: two actors that talk across threads gather on one, then stay', async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 50, cooldownMs: 300 } });
    const a = system.spawn(Volley);
    const b = system.spawn(Volley);
    await system.move(a, 1);
    await system.move(b, 2); // apart, by hand: a move is not a placement
    await a.ask('meet', b);
    await b.ask('meet', a);
    a.tell('serve');
    await until(async () => {
      const at = await threadsOf(system, [a.id, b.id]);
      return at[0] === at[1] && at[0] !== -1;
    }, 10_000, 'the pair on one thread');
    const moves = system.stats().moves;
    await sleep(1000); // steady traffic, over many rounds and cooldowns
    expect(system.stats().moves).toBe(moves);
    expect(new Set(await threadsOf(system, [a.id, b.id])).size).toBe(1);
    a.tell('halt');
    b.tell('halt');
  });

  it('V3: a pair that talks across threads gathers only once both have run on their threads for a second (rates of a program still warming would judge it)', async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 50, cooldownMs: 300 } });
    const a = system.spawn(Volley);
    const b = system.spawn(Volley);
    await system.move(a, 1);
    await system.move(b, 2);
    // Rounds come one interval apart at the most often, and each actor is counted from the
    // first round after it arrived: 20 rounds of 50 ms at the least (a timer may fire up to a
    // millisecond early by the loop's clock).
    const arrived = performance.now();
    const placed = system.stats().moves; // 0 to 2: one already where it was sent stays
    await a.ask('meet', b);
    await b.ask('meet', a);
    a.tell('serve');
    await until(async () => system.stats().moves > placed, 10_000, 'the gathering');
    expect(performance.now() - arrived).toBeGreaterThanOrEqual(980);
    a.tell('halt');
    b.tell('halt');
  });

  it('V4: actors spawned with a placement stay where they were placed, however much they talk', async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 50, cooldownMs: 300 } });
    const a = system.spawn(Volley, undefined, { placement: { thread: 1 } });
    const b = system.spawn(Volley, undefined, { placement: { thread: 2 } });
    await a.ask('meet', b);
    await b.ask('meet', a);
    a.tell('serve');
    await sleep(800); // many of the planner's rounds
    await until(async () => ((await b.ask('hits')) as number) > 1000, 10_000, 'much traffic between them');
    expect(system.stats().moves).toBe(0);
    expect(await threadsOf(system, [a.id, b.id])).toEqual([1, 2]);
    a.tell('halt');
    b.tell('halt');
  });

  it('V3: CPU-heavy actors crowded on one thread spread to the idle one, then stay', async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 100, cooldownMs: 500 } });
    const burners = Array.from({ length: 4 }, () => system.spawn(Burner));
    for (const b of burners) await system.move(b, 1);
    for (const b of burners) b.tell('burn');
    const ids = burners.map((b) => b.id);
    await until(async () => (await threadsOf(system, ids)).filter((t) => t === 2).length >= 1, 10_000, 'some burners on thread 2');
    await sleep(300);
    const settled = system.stats().moves;
    const placed = await threadsOf(system, ids);
    await sleep(1200);
    expect(system.stats().moves).toBe(settled);
    expect(await threadsOf(system, ids)).toEqual(placed);
    expect(placed.filter((t) => t === 1).length).toBeGreaterThanOrEqual(1);
    for (const b of burners) b.tell('halt');
  });

  it("V3: a tree moves as one: a parent whose child talks to a placed peer gathers with it on the peer's thread", async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 50, cooldownMs: 300 } });
    const peer = system.spawn(Volley, undefined, { placement: { thread: 2 } });
    const parent = system.spawn(Nursery);
    await system.move(parent, 1);
    const child = await parent.ask('adopt');
    await child.ask('meet', peer);
    await peer.ask('meet', child);
    child.tell('serve');
    // The child alone cannot move and the peer was placed: only its tree, under its parent, can.
    await until(async () => (await threadsOf(system, [parent.id, child.id])).every((t) => t === 2), 10_000, 'the tree on the peer\'s thread');
    const moves = system.stats().moves;
    await sleep(1000);
    expect(system.stats().moves).toBe(moves);
    expect(await threadsOf(system, [parent.id, child.id, peer.id])).toEqual([2, 2, 2]);
    child.tell('halt');
    peer.tell('halt');
  });
});
