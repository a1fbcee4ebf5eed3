// Ask round trip between threads (main -> worker -> main), racing a comlink call to a worker,
// with one call in flight and with 256 in flight. Latency percentiles are per call, 1 in flight.

import { Worker } from 'node:worker_threads';
import { wrap, type Remote } from 'comlink';
import { createSystem } from 'troupe';
import { nodeEndpoint } from '../src/runtime/control.js';
import { Echo } from './actors.js';
import { QUICK, measure, report, rounds, type BenchReport } from './lib.js';

const IN_FLIGHT = 256;
/** Sequential asks per tinybench iteration: the harness's own gap between iterations is longer
 * than a thread's spin window, so one ask per iteration would measure a cold wake-up each time. */
const SEQUENTIAL = 200;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function sequential(call: () => Promise<unknown>, latencies: number[]): Promise<void> {
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await call();
    latencies.push(performance.now() - t);
  }
}

async function round(): Promise<BenchReport> {
  const system = await createSystem({ threads: 1 });
  const echo = system.spawn(Echo, undefined, { placement: { thread: 1 } });
  await echo.ask('inc', 0);
  const worker = new Worker(new URL('./baselines/comlink-worker.mjs', import.meta.url));
  const api = wrap<{ inc(x: number): number }>(nodeEndpoint(worker)) as Remote<{ inc(x: number): number }>;
  await api.inc(0);
  const batch = Array.from({ length: IN_FLIGHT }, (_, i) => i);
  const troupeLatency: number[] = [];
  const comlinkLatency: number[] = [];
  const measured = await measure([
    { name: 'troupe ask, 1 in flight', opsPerIteration: SEQUENTIAL, fn: () => sequential(() => echo.ask('inc', 1), troupeLatency) },
    { name: 'comlink call, 1 in flight', opsPerIteration: SEQUENTIAL, fn: () => sequential(() => api.inc(1), comlinkLatency) },
    { name: `troupe ask, ${IN_FLIGHT} in flight`, opsPerIteration: IN_FLIGHT, fn: () => Promise.all(batch.map((i) => echo.ask('inc', i))) },
    { name: `comlink call, ${IN_FLIGHT} in flight`, opsPerIteration: IN_FLIGHT, fn: () => Promise.all(batch.map((i) => api.inc(i))) },
  ]);
  await worker.terminate();
  await system.shutdown();
  const [t1, c1, tN, cN] = measured as [(typeof measured)[0], (typeof measured)[0], (typeof measured)[0], (typeof measured)[0]];
  return {
    bench: 'ask round trip',
    measured,
    ratios: [
      { bench: 'ask', subject: 'troupe ask', baseline: 'comlink call (1 in flight)', ratio: t1.rate / c1.rate, floor: 5, goal: 20 },
      { bench: 'ask', subject: 'troupe ask', baseline: `comlink call (${IN_FLIGHT} in flight)`, ratio: tN.rate / cN.rate, floor: 5, goal: 20 },
    ],
    extra: {
      'troupe ask p50 (us)': +(percentile(troupeLatency.sort((a, b) => a - b), 0.5) * 1000).toFixed(1),
      'troupe ask p99 (us)': +(percentile(troupeLatency, 0.99) * 1000).toFixed(1),
      'comlink p50 (us)': +(percentile(comlinkLatency.sort((a, b) => a - b), 0.5) * 1000).toFixed(1),
      'comlink p99 (us)': +(percentile(comlinkLatency, 0.99) * 1000).toFixed(1),
    },
  };
}

report(await rounds(QUICK ? 1 : 3, round));
