// Dedicated threads (a memory bulkhead for an actor group) and W1's out-of-memory case: an
// actor placed on a thread of its own with resourceLimits; when it runs that thread out of
// memory, its supervisor hears 'oom', the thread is replaced with the same limits, and the
// other threads never notice.

import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type ActorRef } from 'troupe';
import { Hog, Recorder, Sup } from '../fixtures/actors.js';
import { Counter } from '../fixtures/counter.js';
import { useTestSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useTestSystem();

describe('dedicated threads', () => {
  it('W1: an actor that runs its dedicated thread out of memory is reported as oom; the thread comes back with the same limits', async () => {
    const system = await systems.start({ threads: 1, dedicatedThreads: 1 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const decided: string[] = [];
    const root = system.spawn(Sup, { log }, {
      placement: { thread: 0 },
      supervision: {
        decide: (error) => {
          decided.push((error.cause as { kind: string }).kind);
          return 'restart';
        },
      },
    });
    const neighbour = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    const hog = (await root.ask('addHog', { maxOldGenerationSizeMb: 32 })) as ActorRef<typeof Hog>;
    expect((await hog.ask('limits')).maxOldGenerationSizeMb).toBe(32);
    const before = await hog.ask('thread');
    // Balanced spawns never land on the dedicated thread.
    const placed = Array.from({ length: 10 }, () => system.spawn(Counter, { start: 0 }));
    for (const c of placed) await c.ask('get');
    expect((await system.inspect()).filter((a) => placed.some((c) => c.id === a.id)).every((a) => a.thread === 1)).toBe(true);

    hog.tell('hog');
    for (let i = 0; i < 100; i++) neighbour.tell('add', 1);
    await until(() => decided.length === 1, 10_000, 'the supervisor to decide');
    expect(decided).toEqual(['oom']);
    expect((await hog.ask('limits')).maxOldGenerationSizeMb).toBe(32);
    expect(await hog.ask('thread')).not.toBe(before);
    expect(await neighbour.ask('get')).toBe(100);
    expect(system.stats().threads.map((t) => t.replaced)).toEqual([0, 0, 1]);
  });

  it('refuses what it cannot do: dedicated from a worker, limits without a dedicated thread, more than there are, a dedicated slot by number', async () => {
    const system = await systems.start({ threads: 1, dedicatedThreads: 1 });
    const onWorker = system.spawn(Hog, undefined, { placement: { thread: 1 } });
    expect(await onWorker.ask('spawnDedicated')).toBe('ERR_INVALID_ARGUMENT');
    expect(() => system.spawn(Counter, { start: 0 }, { resourceLimits: { maxOldGenerationSizeMb: 64 } })).toThrow(InvalidArgumentError);
    expect(() => system.spawn(Counter, { start: 0 }, { placement: 'dedicated', resourceLimits: { heapMb: 1 } as never })).toThrow(InvalidArgumentError);
    expect(() => system.spawn(Counter, { start: 0 }, { placement: { thread: 2 } })).toThrow(InvalidArgumentError);
    const first = system.spawn(Counter, { start: 3 }, { placement: 'dedicated' });
    expect(await first.ask('get')).toBe(3);
    expect(() => system.spawn(Counter, { start: 0 }, { placement: 'dedicated' })).toThrow(/dedicatedThreads/);
    expect(system.stats().threads.map((t) => t.alive)).toEqual([true, true, true]);
  });

  it('an unused dedicated slot costs no thread and does not hold up shutdown', async () => {
    const system = await systems.start({ threads: 1, dedicatedThreads: 2 });
    expect(system.stats().threads.map((t) => t.alive)).toEqual([true, true, false, false]);
    const c = system.spawn(Counter, { start: 1 });
    expect(await c.ask('get')).toBe(1);
    const report = await system.shutdown({ drainMs: 2000 });
    expect(report.forced).toBe(0);
  });
});
