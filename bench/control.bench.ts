// Control operations in the shape a user writes first: 100,000 actors spawned from the main
// thread with balanced placement, each asked once, the heap they cost summed over every thread,
// then stopped by ref (10,000) and by shutdown() (the rest). The tuned shape beside it: the same
// number spawned inside a worker by one actor. Run with --expose-gc (bench/run.ts does).

import { createSystem, type ActorRef, type ActorSystem } from 'troupe';
import { HeapProbe, Idle, Spawner } from './actors.js';
import { QUICK, median, report, type Measured } from './lib.js';

const N = QUICK ? 20_000 : 100_000;
const STOPS = QUICK ? 2_000 : 10_000;
const ROUNDS = QUICK ? 1 : 3;
const gc = (globalThis as { gc?: () => void }).gc;

/** V8 heap in use after a full GC, summed over the main thread and every worker. */
async function heapEverywhere(system: ActorSystem, probes: ActorRef<typeof HeapProbe>[]): Promise<number> {
  gc?.();
  gc?.();
  let sum = process.memoryUsage().heapUsed;
  for (const p of probes) sum += (await p.ask('heap')) as number;
  return sum;
}

/** One ask each, all at once; the answers are not kept (they would count as heap per actor). */
async function answeredOnce(refs: ActorRef<typeof Idle>[]): Promise<void> {
  await Promise.all(refs.map((r) => r.ask('ping')));
}

interface Round {
  spawnCalls: number;
  firstAnswers: number;
  heapPerActor: number;
  stopRefs: number;
  shutdownMs: number;
  tunedSpawns: number;
}

async function round(): Promise<Round> {
  const system = await createSystem();
  const probes = Array.from({ length: system.threads }, (_, i) => system.spawn(HeapProbe, undefined, { placement: { thread: i + 1 } }));
  // Warm the spawn and ask paths on every thread.
  await Promise.all(Array.from({ length: 2000 }, () => system.spawn(Idle).ask('ping')));
  const before = await heapEverywhere(system, probes);

  // The naive shape: a plain loop of spawns on the main thread, then one ask each.
  const t0 = performance.now();
  const refs: ActorRef<typeof Idle>[] = [];
  for (let i = 0; i < N; i++) refs.push(system.spawn(Idle));
  const t1 = performance.now();
  await answeredOnce(refs);
  const t2 = performance.now();
  const heapPerActor = ((await heapEverywhere(system, probes)) - before) / N;

  const t3 = performance.now();
  await Promise.all(refs.slice(0, STOPS).map((r) => system.stop(r)));
  const t4 = performance.now();
  refs.length = 0;
  const t5 = performance.now();
  await system.shutdown();
  const t6 = performance.now();

  // The tuned shape: one actor on a worker spawns them all.
  const tuned = await createSystem();
  const spawner = tuned.spawn(Spawner, undefined, { placement: { thread: 1 } });
  await spawner.ask('spawnMany', 100);
  const t7 = performance.now();
  const last = await spawner.ask('spawnMany', N);
  await last!.ask('ping');
  const t8 = performance.now();
  await tuned.shutdown();

  return {
    spawnCalls: N / ((t1 - t0) / 1000),
    firstAnswers: N / ((t2 - t0) / 1000),
    heapPerActor,
    stopRefs: STOPS / ((t4 - t3) / 1000),
    shutdownMs: t6 - t5,
    tunedSpawns: N / ((t8 - t7) / 1000),
  };
}

const all: Round[] = [];
for (let i = 0; i < ROUNDS; i++) all.push(await round());
const med = (f: (r: Round) => number): number => median(all.map(f));
const row = (name: string, rate: number): Measured => ({ name, rate, p50Ms: 1000 / rate, p99Ms: 1000 / rate, samples: all.length });
const spawnCalls = med((r) => r.spawnCalls);
const firstAnswers = med((r) => r.firstAnswers);
const tuned = med((r) => r.tunedSpawns);
report({
  bench: 'control',
  measured: [
    row(`spawn from main, ${N} actors, balanced: the calls`, spawnCalls),
    row(`spawn from main, ${N} actors: until each answered once`, firstAnswers),
    row(`spawn inside a worker, ${N} actors (tuned): until the last answered`, tuned),
    row(`stop of ${STOPS} refs from main, all at once`, med((r) => r.stopRefs)),
  ],
  ratios: [
    { bench: 'control', subject: 'spawn from main (until answered)', baseline: 'spawn inside a worker', ratio: firstAnswers / tuned },
  ],
  extra: {
    'spawn calls/s from main (floor 300000)': Math.round(spawnCalls),
    'spawned and answered once, /s (floor 150000)': Math.round(firstAnswers),
    'heap bytes per idle actor, all threads (floor <= 400)': Math.round(med((r) => r.heapPerActor)),
    [`stop of ${STOPS} refs, ms (floor <= 1000)`]: Math.round(STOPS / (med((r) => r.stopRefs) / 1000)),
    [`shutdown() of ${N - STOPS} actors, ms (floor <= 1000)`]: Math.round(med((r) => r.shutdownMs)),
    'heap measured with gc': gc === undefined ? 'no (run with --expose-gc)' : 'yes',
  },
});
