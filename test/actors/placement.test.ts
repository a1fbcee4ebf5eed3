import { describe, expect, it } from 'vitest';
import { Counter } from '../fixtures/counter.js';
import { PairParent, Recorder } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';

const systems = useSystem();

describe('placement', () => {
  it('runs an actor on the thread it was placed on', async () => {
    const system = await systems.start({ threads: 3 });
    const ids = await Promise.all([1, 2, 3].map((thread) => system.spawn(Counter, { start: 0 }, { placement: { thread } }).ask('thread')));
    expect(new Set(ids).size).toBe(3);
  });

  it('spreads balanced spawns over every worker', async () => {
    const system = await systems.start({ threads: 3 });
    const refs = Array.from({ length: 60 }, () => system.spawn(Counter, { start: 0 }));
    const threads = await Promise.all(refs.map((r) => r.ask('thread')));
    const perThread = new Map<number, number>();
    for (const t of threads) perThread.set(t, (perThread.get(t) ?? 0) + 1);
    expect(perThread.size).toBe(3);
    for (const n of perThread.values()) expect(n).toBeGreaterThanOrEqual(8);
  });

  it('places a child on its parent thread by default, and its tells never touch a ring', async () => {
    const system = await systems.start({ threads: 2 });
    const parent = system.spawn(PairParent, undefined, { placement: { thread: 2 } });
    const before = system.stats().threads[2]!;
    const result = await parent.ask('run', 10_000);
    const after = system.stats().threads[2]!;
    expect(result.sameThread).toBe(true);
    expect(result.count).toBe(10_000);
    // Only the ask's reply left thread 2; the 10,000 child messages stayed in its heap.
    expect(after.messagesOut - before.messagesOut).toBeLessThanOrEqual(2);
    expect(after.handled - before.handled).toBeGreaterThanOrEqual(10_000);
  });

  it('reports actors and counters per thread from shared memory', async () => {
    const system = await systems.start({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    for (let i = 0; i < 100; i++) recorder.tell('record', i);
    await recorder.ask('count');
    const stats = system.stats();
    expect(stats.threads).toHaveLength(3);
    expect(stats.threads[1]!.actors).toBe(1);
    expect(stats.threads[1]!.handled).toBe(101);
    expect(stats.threads[0]!.accepted).toBe(101);
    expect(stats.accepted).toBe(stats.handled);
    const info = await system.inspect();
    expect(info).toContainEqual(expect.objectContaining({ id: recorder.id, thread: 1, handled: 101, status: 'running' }));
  });

  it('lists in inspect() the actors spawned just before it, on the main thread and on every worker', async () => {
    const system = await systems.start({ threads: 2 });
    for (let round = 0; round < 3; round++) {
      const refs = [0, 1, 2].flatMap((thread) => Array.from({ length: 20 }, () => system.spawn(Counter, { start: 0 }, { placement: { thread } })));
      const refsDefault = Array.from({ length: 20 }, () => system.spawn(Counter, { start: 0 }));
      const listed = new Map((await system.inspect()).map((a) => [a.id, a.thread]));
      for (const [i, ref] of refs.entries()) expect(listed.get(ref.id), `spawned on thread ${Math.floor(i / 20)}`).toBe(Math.floor(i / 20));
      for (const ref of refsDefault) expect(listed.get(ref.id)).toBeGreaterThanOrEqual(1);
    }
  });
});
