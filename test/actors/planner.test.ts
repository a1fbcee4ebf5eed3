// The planner with real threads (SEMANTICS V3, V4): actors that talk gather on one thread, CPU
// spreads from a busy thread to an idle one, placements given at spawn hold, and then nothing
// moves back and forth.

import { describe, expect, it } from 'vitest';
import { MailboxFullError, ShuttingDownError, type ActorRef } from 'troupe';
import { Burner, Nursery, Sink, Volley } from '../fixtures/movers.js';
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

/**
 * Main's own code sending to `sinks` in a loop: `perTurn` tells of `type` to each, then a turn
 * of the event loop (a timer of `pauseMs`, or setImmediate at 0), until stopped. A tell refused
 * for a full mailbox is not counted; stop() says how many each was sent.
 */
function drive(sinks: readonly ActorRef<typeof Sink>[], type: 'hit' | 'heavy', perTurn: number, pauseMs = 0, payload = 0): { stop(): Promise<number[]> } {
  const sent = sinks.map(() => 0);
  let on = true;
  const loop = (async () => {
    while (on) {
      sinks.forEach((sink, i) => {
        for (let n = 0; n < perTurn; n++) {
          try {
            if (type === 'hit') sink.tell('hit');
            else sink.tell('heavy', payload);
            sent[i]!++;
          } catch (error) {
            if (error instanceof ShuttingDownError) on = false; // a test that failed: its system is going
            else if (!(error instanceof MailboxFullError)) throw error;
          }
        }
      });
      await new Promise((resolve) => (pauseMs === 0 ? setImmediate(resolve) : setTimeout(resolve, pauseMs)));
    }
  })();
  return {
    stop: async () => {
      on = false;
      await loop;
      return sent;
    },
  };
}

describe('the planner and the main thread (V3)', () => {
  it("V3: light actors that main's own code keeps busy come to main and stay, losing nothing; a heavy one stays on its worker; one that turns heavy while main is busy goes back, and stays there", async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 50, cooldownMs: 300 } });
    const light = Array.from({ length: 4 }, () => system.spawn(Sink));
    const heavy = system.spawn(Sink);
    const ids = light.map((s) => s.id);
    expect(await threadsOf(system, [...ids, heavy.id])).not.toContain(0); // default placement: the workers
    // Paced (a timer between turns): what they handle is what main's code sends, wherever they
    // run, so a gathering measures as it did before (a loop that saturates main measures main).
    const lightLoad = drive(light, 'hit', 50, 1);
    const heavyLoad = drive([heavy], 'heavy', 1, 1, 0.5); // half a millisecond a message
    await until(async () => (await threadsOf(system, ids)).every((t) => t === 0), 15_000, 'the light actors on main');
    await sleep(300);
    const settled = system.stats().moves;
    await sleep(1000); // steady traffic, over many rounds and cooldowns
    expect(system.stats().moves).toBe(settled);
    expect(await threadsOf(system, ids)).toEqual([0, 0, 0, 0]);
    expect(await threadsOf(system, [heavy.id])).not.toEqual([0]);
    // Location transparency: every tell counted, across the move and after it, the sender now beside them.
    const sent = await lightLoad.stop();
    expect(await Promise.all(light.map((s) => s.ask('hits')))).toEqual(sent);
    // Now one of them costs main far more than its messages, and keeps main busy: it goes back
    // to a worker and does not come back; the others, idle, stay.
    const [hot, ...idle] = light;
    const turned = drive([hot!], 'heavy', 1, 1, 1); // a millisecond a message, one a millisecond
    await until(async () => ![0, -1].includes((await threadsOf(system, [hot!.id]))[0]!), 15_000, 'the heavy one back on a worker');
    for (let i = 0; i < 10; i++) {
      await sleep(100);
      expect((await threadsOf(system, [hot!.id]))[0]).not.toBe(0);
    }
    expect(await threadsOf(system, idle.map((s) => s.id))).toEqual([0, 0, 0]);
    const more = await turned.stop();
    await heavyLoad.stop();
    expect(await Promise.all(light.map((s) => s.ask('hits', undefined, { timeoutMs: 30_000 })))).toEqual(sent.map((n, i) => n + (i === 0 ? more[0]! : 0)));
    expect(system.stats().deadLetters).toBe(0);
  });

  it('V3: with `main: false` the planner leaves the main thread to main: the same light actors stay on the workers', async () => {
    const system = await systems.start({ threads: 2, planner: { intervalMs: 50, cooldownMs: 300, main: false } });
    const light = Array.from({ length: 4 }, () => system.spawn(Sink));
    const load = drive(light, 'hit', 50);
    // Long enough for the test above to bring them (they run a second on their threads first).
    await sleep(2500);
    const sent = await load.stop();
    expect((await threadsOf(system, light.map((s) => s.id))).filter((t) => t === 0)).toEqual([]);
    expect(system.stats().moves).toBe(0);
    expect(await Promise.all(light.map((s) => s.ask('hits')))).toEqual(sent);
  });
});
