// Spawn rate on one thread and heap per idle actor (100,000 actors), racing xstate v5 actors and
// a bare Map of plain records as the floor. Run with --expose-gc (bench/run.ts does).

import { createActor, fromTransition } from 'xstate';
import { createSystem, type ActorRef } from 'troupe';
import { Spawner } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const N = QUICK ? 20_000 : 100_000;
const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 1 });
  const logic = fromTransition((s: number) => s + 1, 0);
  let spawner: ActorRef<typeof Spawner> | undefined;

  const measured = await measure(
    [
      {
        name: `troupe spawn + start, ${N} actors`,
        opsPerIteration: N,
        fn: async () => {
          const parent = system.spawn(Spawner, undefined, { placement: { thread: 0 } });
          spawner = parent;
          const last = await parent.ask('spawnMany', N);
          await last!.ask('ping'); // children start in order: the last one answering means all did
        },
        teardown: async () => {
          if (spawner !== undefined) await system.stop(spawner);
          spawner = undefined;
        },
      },
      {
        name: `xstate createActor().start(), ${N} actors`,
        opsPerIteration: N,
        fn: () => {
          const actors = [];
          for (let i = 0; i < N; i++) actors.push(createActor(logic).start());
          for (const a of actors) a.stop();
        },
      },
    ],
    { timeMs: QUICK ? 500 : 2000 },
  );

  // Heap per idle actor, measured once all are started and the spawner is idle.
  const before = heapUsed();
  const idleParent = system.spawn(Spawner, undefined, { placement: { thread: 0 } });
  const last = await idleParent.ask('spawnMany', N);
  await last!.ask('ping');
  const troupeBytes = (heapUsed() - before) / N;
  await system.stop(idleParent);
  await system.shutdown();

  const xsBefore = heapUsed();
  const xs = [];
  for (let i = 0; i < N; i++) xs.push(createActor(logic).start());
  const xstateBytes = (heapUsed() - xsBefore) / N;
  for (const a of xs) a.stop();

  const [troupe, xstate] = measured as [(typeof measured)[0], (typeof measured)[0]];
  return {
    bench: 'spawn',
    measured,
    ratios: [{ bench: 'spawn', subject: 'troupe spawn', baseline: 'xstate createActor().start()', ratio: troupe.rate / xstate.rate }],
    extra: {
      'troupe spawns/s (floor 300000)': Math.round(troupe.rate),
      'troupe heap bytes per idle actor (floor <= 1024, goal <= 300)': Math.round(troupeBytes),
      'xstate heap bytes per idle actor': Math.round(xstateBytes),
      'heap measured with gc': gc === undefined ? 'no (run with --expose-gc)' : 'yes',
    },
  };
}

report(await rounds(1, round));
