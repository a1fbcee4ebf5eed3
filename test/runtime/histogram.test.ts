import { describe, expect, it } from 'vitest';
import { HISTOGRAM_BOUNDS, mergeHistograms, observe, readHistogram } from '../../src/runtime/histogram.js';
import { HIST_BUCKETS, HISTOGRAM_SLOTS } from '../../src/runtime/layout.js';

function slots(histograms = 2): Float64Array {
  return new Float64Array(histograms * HISTOGRAM_SLOTS);
}

describe('histogram', () => {
  it('has bounds doubling from 1 us to 16.8 s', () => {
    expect(HISTOGRAM_BOUNDS).toHaveLength(HIST_BUCKETS);
    expect(HISTOGRAM_BOUNDS[0]).toBe(0.000001);
    expect(HISTOGRAM_BOUNDS[10]).toBe(0.001024);
    expect(HISTOGRAM_BOUNDS.at(-1)).toBe(16.777216);
    for (let i = 1; i < HIST_BUCKETS; i++) expect(HISTOGRAM_BOUNDS[i]).toBe(HISTOGRAM_BOUNDS[i - 1]! * 2);
  });

  it.each([
    [0, 0],
    [-1, 0],
    [0.001, 0], //  1 us: at most the first bound
    [0.0011, 1],
    [0.002, 1],
    [0.0021, 2],
    [1, 10], //     1000 us <= 1024 us
    [1.024, 10],
    [1.025, 11],
    [5000, 23], //  5 s <= 8.39 s
    [16777.216, 24],
  ])('counts %s ms in the first bucket whose bound is not below it (bucket %i)', (ms, bucket) => {
    const s = slots();
    observe(s, 1, ms);
    const h = readHistogram(s, 1);
    expect(h.count).toBe(1);
    expect(h.counts.findIndex((c) => c === 1)).toBe(bucket);
    expect(h.counts.slice(bucket).every((c) => c === 1)).toBe(true); // cumulative from there on
    expect(HISTOGRAM_BOUNDS[bucket]! >= ms / 1000).toBe(true);
    if (bucket > 0) expect(HISTOGRAM_BOUNDS[bucket - 1]! < ms / 1000).toBe(true);
    expect(readHistogram(s, 0).count).toBe(0); // its neighbour is untouched
  });

  it('counts what exceeds the last bound in count only (+Inf)', () => {
    const s = slots();
    observe(s, 0, 20_000);
    observe(s, 0, Number.POSITIVE_INFINITY);
    const h = readHistogram(s, 0);
    expect(h.count).toBe(2);
    expect(h.counts.every((c) => c === 0)).toBe(true);
  });

  it('keeps the sum in seconds and a cumulative count per bound', () => {
    const s = slots();
    for (const ms of [0.0005, 0.003, 0.003, 2, 40]) observe(s, 0, ms);
    const h = readHistogram(s, 0);
    expect(h.count).toBe(5);
    expect(h.sum).toBeCloseTo(0.0420065, 12);
    expect(h.counts[0]).toBe(1); //  <= 1 us
    expect(h.counts[2]).toBe(3); //  <= 4 us
    expect(h.counts[11]).toBe(4); // <= 2.048 ms
    expect(h.counts[16]).toBe(5); // <= 65.5 ms
    expect(h.counts.at(-1)).toBe(5);
  });

  it('adds histograms up', () => {
    const s = slots();
    observe(s, 0, 0.5);
    observe(s, 1, 0.5);
    observe(s, 1, 30_000);
    const merged = mergeHistograms([readHistogram(s, 0), readHistogram(s, 1)]);
    expect(merged.count).toBe(3);
    expect(merged.counts[9]).toBe(2); // 500 us <= 512 us
    expect(merged.sum).toBeCloseTo(30.001, 9);
    expect(merged.bounds).toBe(HISTOGRAM_BOUNDS);
  });
});
