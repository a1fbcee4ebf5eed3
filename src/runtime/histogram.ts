// Durations as histograms in a thread's control block (layout.ts HIST_*): fixed buckets whose
// upper bounds double from 1 us to 16.8 s, so a bucket is found with one Math.clz32, no search.
// One writer, the owning thread, with plain stores; any thread reads a snapshot as it stands (a
// reader may see a bucket counted before its sum grew, never a count that disagrees with the
// buckets: the count is their sum).

import { HIST_BUCKETS, HIST_OVERFLOW, HIST_SUM, HISTOGRAM_SLOTS } from './layout.js';

/** The largest finite bound, in microseconds. */
const MAX_MICROS = 2 ** (HIST_BUCKETS - 1);

/** The buckets' upper bounds in seconds, ascending: 1e-6 · 2^i. */
export const HISTOGRAM_BOUNDS: readonly number[] = Object.freeze(Array.from({ length: HIST_BUCKETS }, (_, i) => 2 ** i / 1e6));

/** A distribution of durations, in seconds, as Prometheus reads a histogram. */
export interface DurationHistogram {
  /** Upper bounds of the buckets in seconds (1 us doubling to 16.8 s); the same array in every histogram. */
  readonly bounds: readonly number[];
  /** Cumulative: counts[i] observations took at most bounds[i] (Prometheus `le`). Longer ones count in `count` only. */
  readonly counts: readonly number[];
  /** Every observation (the `+Inf` bucket). */
  readonly count: number;
  /** Their sum, in seconds. */
  readonly sum: number;
}

/** Counts a duration of `ms` milliseconds in histogram `n` of `slots` (a thread's histogram region). */
export function observe(slots: Float64Array, n: number, ms: number): void {
  const at = n * HISTOGRAM_SLOTS;
  const micros = ms * 1000;
  // The smallest i with micros <= 2^i: for an integer x >= 2, 32 - clz32(x - 1) is ceil(log2(x)).
  const bucket = !(micros > 1) ? 0 : micros > MAX_MICROS ? HIST_OVERFLOW : 32 - Math.clz32(Math.ceil(micros) - 1);
  slots[at + bucket]!++;
  if (ms > 0) slots[at + HIST_SUM]! += ms / 1000;
}

/** Histogram `n` of `slots`, as it stands. */
export function readHistogram(slots: Float64Array, n: number): DurationHistogram {
  const at = n * HISTOGRAM_SLOTS;
  const counts: number[] = new Array(HIST_BUCKETS);
  let count = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) counts[i] = count += slots[at + i]!;
  count += slots[at + HIST_OVERFLOW]!;
  return { bounds: HISTOGRAM_BOUNDS, counts, count, sum: slots[at + HIST_SUM]! };
}

/** The histograms added up (several threads' into one). */
export function mergeHistograms(histograms: readonly DurationHistogram[]): DurationHistogram {
  const counts: number[] = new Array<number>(HIST_BUCKETS).fill(0);
  let count = 0;
  let sum = 0;
  for (const h of histograms) {
    for (let i = 0; i < HIST_BUCKETS; i++) counts[i]! += h.counts[i]!;
    count += h.count;
    sum += h.sum;
  }
  return { bounds: HISTOGRAM_BOUNDS, counts, count, sum };
}
