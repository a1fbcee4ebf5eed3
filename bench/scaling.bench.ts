// The scaling run: the same troupe workloads with 1, 2, ... N worker threads (N: this machine's
// cores, at least 2), printed as a table of rates and speedups over one thread, and drawn as a
// chart (bench/results/scaling.svg). The main thread sends the work and collects the answers.

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSystem, type ActorSystem } from 'troupe';
import { scalingChart } from './chart.js';
import { QUICK, median, report, type Measured, type RatioLine } from './lib.js';
import { Done, bigWorkload, chameneosWorkload, forkJoinWorkload, skynetWorkload, type Workload } from './savina-actors.js';

const RUNS = QUICK ? 1 : 3;
const MAX = Math.max(2, availableParallelism());
const THREADS = [...new Set([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, MAX].filter((t) => t <= MAX))].sort((a, b) => a - b);

function workloads(system: ActorSystem): Workload[] {
  const done = system.spawn(Done, undefined, { placement: { thread: 0 } });
  return [
    forkJoinWorkload(system, done, 32, QUICK ? 64_000 : 256_000),
    chameneosWorkload(system, done, 32, QUICK ? 20_000 : 100_000),
    bigWorkload(system, done, 64, QUICK ? 200 : 800),
    skynetWorkload(system, QUICK ? 10_000 : 100_000),
  ];
}

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
for (const threads of THREADS) {
  process.stderr.write(`  scaling: ${threads} worker thread${threads === 1 ? '' : 's'}\n`);
  const system = await createSystem({ threads });
  for (const w of workloads(system)) {
    const byThreads = rates.get(w.name) ?? new Map<number, number>();
    byThreads.set(threads, await rate(w));
    rates.set(w.name, byThreads);
  }
  await system.shutdown();
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
  ratios.push({ bench: 'scaling', subject: `${name}, ${MAX} threads`, baseline: '1 thread', ratio: byThreads.get(MAX)! / one });
}
console.log(`\n## scaling: speedup over 1 worker thread (${availableParallelism()} cores)`);
console.table(table);
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}scaling.svg`, scalingChart(series, `troupe: speedup with worker threads (Node ${process.version}, ${availableParallelism()} cores)`));
console.log('chart written to bench/results/scaling.svg');
report({ bench: 'scaling', measured, ratios });
