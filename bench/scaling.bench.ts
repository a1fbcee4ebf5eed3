// The scaling run: the same troupe workloads with 1, 2, ... N worker threads (N: this machine's
// cores, at least 2), printed as a table of rates and speedups over one thread, and drawn as a
// chart (bench/results/scaling.svg). The main thread sends the work and collects the answers.
// The tuned shape pins the actors round robin over the threads; the shape a user writes first
// spawns them with the default placement, timed with the planner off and on (bench/planned.ts).
// SCALING_THREADS=1,2,4,16: only those thread counts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSystem, type ActorRef, type ActorSystem } from 'troupe';
import { scalingChart } from './chart.js';
import { QUICK, median, report, type Measured, type RatioLine } from './lib.js';
import { freshPlanned, plannedTimes } from './planned.js';
import { Done, bigWorkload, chameneosWorkload, forkJoinWorkload, skynetWorkload, type Workload } from './savina-actors.js';

const RUNS = QUICK ? 1 : 3;
const MAX = Math.max(2, availableParallelism());
const chosen = process.env.SCALING_THREADS?.split(',').map(Number);
const THREADS = chosen ?? [...new Set([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, MAX].filter((t) => t <= MAX))].sort((a, b) => a - b);
const LAST = THREADS[THREADS.length - 1]!;

const SIZES = { forkJoin: QUICK ? 64_000 : 256_000, chameneos: QUICK ? 20_000 : 100_000, bigPings: QUICK ? 200 : 800, skynet: QUICK ? 10_000 : 100_000 };

function workloads(system: ActorSystem): Workload[] {
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  return [
    forkJoinWorkload(system, done, 32, SIZES.forkJoin),
    chameneosWorkload(system, done, 32, SIZES.chameneos),
    bigWorkload(system, done, 64, SIZES.bigPings),
    skynetWorkload(system, SIZES.skynet),
  ];
}

/** The workloads of the planner's rows, their actors not pinned (skynet's tree places itself). */
const unpinned = [
  (system: ActorSystem, done: ActorRef<typeof Done>) => forkJoinWorkload(system, done, 32, SIZES.forkJoin, false),
  (system: ActorSystem, done: ActorRef<typeof Done>) => chameneosWorkload(system, done, 32, SIZES.chameneos, false),
  (system: ActorSystem, done: ActorRef<typeof Done>) => bigWorkload(system, done, 64, SIZES.bigPings, false),
];

async function rate(w: Workload): Promise<number> {
  await w.run();
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await w.run();
    times.push(performance.now() - t);
  }
  return (w.ops * 1000) / median(times);
}

const rates = new Map<string, Map<number, number>>();
const opsOf = new Map<string, number>();
const plannedRates: { name: string; threads: number; off: number; on: number; moves: number; settledMs: number; samples: number }[] = [];
for (const threads of THREADS) {
  process.stderr.write(`  scaling: ${threads} worker thread${threads === 1 ? '' : 's'}\n`);
  const system = await createSystem({ threads });
  for (const w of workloads(system)) {
    const byThreads = rates.get(w.name) ?? new Map<number, number>();
    byThreads.set(threads, await rate(w));
    opsOf.set(w.name, w.ops);
    rates.set(w.name, byThreads);
  }
  await system.shutdown();
  if (threads === 1) continue; // one thread: nowhere to move an actor
  for (const make of unpinned) {
    const planned = await freshPlanned(threads);
    let name = '';
    const t = await plannedTimes((sys, done) => {
      const w = make(sys, done);
      name = w.name;
      return w;
    }, planned, RUNS, 10_000);
    await planned.close();
    const ops = opsOf.get(name)!; // the pinned rows of this thread count ran it first
    plannedRates.push({ name, threads, off: (ops * 1000) / median(t.off), on: (ops * 1000) / median(t.on), moves: t.moves, settledMs: t.settledMs, samples: t.off.length });
  }
}

const measured: Measured[] = [];
const ratios: RatioLine[] = [];
const series: { name: string; points: { threads: number; speedup: number }[] }[] = [];
const table: Record<string, string>[] = [];
for (const [name, byThreads] of rates) {
  const one = byThreads.get(1)!;
  const row: Record<string, string> = { workload: name };
  const points: { threads: number; speedup: number }[] = [];
  for (const [threads, r] of byThreads) {
    const ms = 1000 / r; // per operation, from the median run
    measured.push({ name: `${name}, ${threads} thread${threads === 1 ? '' : 's'}`, rate: r, p50Ms: ms, p99Ms: ms, samples: RUNS });
    row[`${threads} thr`] = `${(r / one).toFixed(2)}x`;
    points.push({ threads, speedup: r / one });
  }
  series.push({ name, points });
  table.push(row);
  ratios.push({ bench: 'scaling', subject: `${name}, ${LAST} threads`, baseline: '1 thread', ratio: byThreads.get(LAST)! / one });
}
const plannedTable: Record<string, string>[] = [];
for (const p of plannedRates) {
  const one = rates.get(p.name)!.get(1);
  const each = `${p.name}, ${p.threads} threads, default placement`;
  measured.push({ name: `${each}, planner off`, rate: p.off, p50Ms: 1000 / p.off, p99Ms: 1000 / p.off, samples: p.samples });
  measured.push({ name: `${each}, planner on (${p.moves} moves, settled in ${Math.round(p.settledMs)} ms)`, rate: p.on, p50Ms: 1000 / p.on, p99Ms: 1000 / p.on, samples: p.samples });
  plannedTable.push({
    workload: p.name,
    threads: String(p.threads),
    'off, over 1 thr': one ? `${(p.off / one).toFixed(2)}x` : '-',
    'on, over 1 thr': one ? `${(p.on / one).toFixed(2)}x` : '-',
    'on / off': `${(p.on / p.off).toFixed(2)}x`,
    moves: String(p.moves),
    'settled ms': String(Math.round(p.settledMs)),
  });
  if (p.threads === LAST) ratios.push({ bench: 'scaling', subject: `${p.name}, ${LAST} threads, default placement, planner on`, baseline: 'planner off', ratio: p.on / p.off });
}
console.log(`\n## scaling: speedup over 1 worker thread (${availableParallelism()} cores)`);
console.table(table);
if (plannedTable.length > 0) {
  console.log('\n## scaling, default placement: planner off and on (speedups over 1 worker thread, pinned)');
  console.table(plannedTable);
}
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}scaling.svg`, scalingChart(series, `troupe: speedup with worker threads (Node ${process.version}, ${availableParallelism()} cores)`));
console.log('chart written to bench/results/scaling.svg');
report({ bench: 'scaling', measured, ratios });
