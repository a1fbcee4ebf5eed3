// Shared helpers for the benchmarks: run tinybench tasks, turn latencies into rates, compute
// ratios against the baseline measured in the same run, and report one JSON line per bench.
// Importing it reads the command line as a bench's: bench/run.ts and bench/readme.ts, programs
// with flags of their own, import only its types.

import { basename } from 'node:path';
import { Bench } from 'tinybench';
import { parseFlags } from '../examples/flags.js';
import { fmtRate } from './format.js';

/** --quick (or BENCH_QUICK=1): a short run. bench/run.ts passes it on to every bench it starts. */
export const QUICK = parseFlags(basename(process.argv[1] ?? 'bench'), { quick: { type: 'boolean' } }).values.quick || process.env.BENCH_QUICK === '1';

export interface Measured {
  readonly name: string;
  /** Operations (messages, round trips, spawns) per second, from the median iteration time. */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly samples: number;
}

/** Runs each task under tinybench; `opsPerIteration` turns iteration time into a rate. */
export async function measure(
  tasks: readonly {
    name: string;
    opsPerIteration: number;
    fn: () => Promise<unknown> | unknown;
    /** Untimed, after each iteration. */
    teardown?: () => Promise<void> | void;
  }[],
  options: { timeMs?: number; warmupMs?: number } = {},
): Promise<Measured[]> {
  const bench = new Bench({
    time: options.timeMs ?? (QUICK ? 250 : 1000),
    warmupTime: options.warmupMs ?? (QUICK ? 50 : 200),
    iterations: 5,
    warmupIterations: 2,
  });
  // Always an async function: tinybench calls any other function once, at add time, to see
  // whether it returns a promise, and that hidden call would race the measured ones.
  for (const task of tasks) {
    const fn = task.fn;
    bench.add(
      task.name,
      async () => {
        await fn();
      },
      task.teardown ? { afterEach: task.teardown } : {},
    );
  }
  await bench.run();
  return bench.tasks.map((task, i) => {
    const result = task.result as { state: string; latency?: { p50: number; p99: number; samplesCount?: number }; error?: unknown };
    if (result.state !== 'completed' || result.latency === undefined) throw new Error(`bench task ${task.name} did not complete: ${String(result.error)}`);
    const p50 = result.latency.p50;
    return {
      name: task.name,
      rate: (tasks[i]!.opsPerIteration * 1000) / p50,
      p50Ms: p50,
      p99Ms: result.latency.p99,
      samples: result.latency.samplesCount ?? 0,
    };
  });
}

/**
 * Tasks whose rates are compared with each other, measured in turns: `turns` short runs of every
 * task, in alternating order (A B, then B A, ...), each task's figures the medians of its turns.
 * Two paths of nearly the same cost, measured one after the other for a second each, differ by
 * what the shared machine did in each second; in turns they share it.
 */
export async function measureInTurns(tasks: Parameters<typeof measure>[0], turns = QUICK ? 2 : 6): Promise<Measured[]> {
  const all: Measured[][] = tasks.map(() => []);
  const timeMs = (QUICK ? 250 : 1000) / turns;
  for (let t = 0; t < turns; t++) {
    const order = t % 2 === 0 ? tasks.map((_, i) => i) : tasks.map((_, i) => tasks.length - 1 - i);
    const measured = await measure(order.map((i) => tasks[i]!), { timeMs: Math.max(100, timeMs), warmupMs: t === 0 ? undefined : 20 });
    order.forEach((i, k) => all[i]!.push(measured[k]!));
  }
  return tasks.map((task, i) => ({
    name: task.name,
    rate: median(all[i]!.map((m) => m.rate)),
    p50Ms: median(all[i]!.map((m) => m.p50Ms)),
    p99Ms: median(all[i]!.map((m) => m.p99Ms)),
    samples: all[i]!.reduce((sum, m) => sum + m.samples, 0),
  }));
}

export interface RatioLine {
  readonly bench: string;
  readonly subject: string;
  readonly baseline: string;
  readonly ratio: number;
  /** The floor the issue sets; undefined when only informative. */
  readonly floor?: number;
  readonly goal?: number;
}

export interface BenchReport {
  readonly bench: string;
  readonly measured: Measured[];
  readonly ratios: RatioLine[];
  readonly extra?: Record<string, number | string>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Prints the table and the ratios, and one machine-readable line for bench/run.ts. */
export function report(result: BenchReport): void {
  console.log(`\n## ${result.bench}`);
  console.table(
    result.measured.map((m) => ({ task: m.name, rate: fmtRate(m.rate), 'p50 (ms)': m.p50Ms.toPrecision(3), 'p99 (ms)': m.p99Ms.toPrecision(3), samples: m.samples })),
  );
  for (const r of result.ratios) {
    const verdict = r.floor === undefined ? '' : r.ratio >= r.floor ? `  (floor ${r.floor}x: met)` : `  (floor ${r.floor}x: NOT met)`;
    console.log(`  ${r.subject} / ${r.baseline}: ${r.ratio.toFixed(2)}x${verdict}`);
  }
  if (result.extra) for (const [k, v] of Object.entries(result.extra)) console.log(`  ${k}: ${v}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

/** Runs `round` several times and keeps, for each ratio, the median over rounds. */
export async function rounds(count: number, round: () => Promise<BenchReport>): Promise<BenchReport> {
  const all: BenchReport[] = [];
  for (let i = 0; i < count; i++) all.push(await round());
  const first = all[0]!;
  return {
    bench: first.bench,
    measured: first.measured.map((m, i) => ({
      ...m,
      rate: median(all.map((r) => r.measured[i]!.rate)),
      p50Ms: median(all.map((r) => r.measured[i]!.p50Ms)),
      p99Ms: median(all.map((r) => r.measured[i]!.p99Ms)),
    })),
    ratios: first.ratios.map((r, i) => ({ ...r, ratio: median(all.map((x) => x.ratios[i]!.ratio)) })),
    ...(first.extra ? { extra: first.extra } : {}),
  };
}
