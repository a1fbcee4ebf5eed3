// A thread's traffic samples for the planner (src/actors/node/traffic-sample.ts), fed by hand the
// way the inbound loop feeds them: a countdown per message, an edge at its end.

import { describe, expect, it } from 'vitest';
import { TrafficSampler } from '../../src/actors/node/traffic-sample.js';

function sampler(): TrafficSampler {
  const host = { self: 1, cells: new Map(), runtime: { timeRuns: () => undefined }, isPlannable: () => true };
  return new TrafficSampler(host as never);
}

/** `n` messages from actor 5 on thread 2 to actor 7 here; the edge's estimated count and its sampling. */
function round(s: TrafficSampler, n: number): { estimate: number; every: number } {
  for (let i = 0; i < n; i++) if (--s.countdown === 0) s.edge(2, 5, 7);
  const [edges] = s.report();
  const edge = edges.find(([to, from]) => to === 7 && from === 5);
  return edge === undefined ? { estimate: 0, every: 0 } : { estimate: edge[3] * edge[4], every: edge[4] };
}

describe('traffic samples', () => {
  it('count fewer of a thread of many messages, down to 32 times fewer, and the estimate stays within a few per cent', () => {
    const s = sampler();
    expect(s.countdown).toBe(Infinity); // nothing counted until a planner asks
    s.report();
    const seen: number[] = [];
    for (let r = 0; r < 8; r++) {
      const { estimate, every } = round(s, 1_000_000);
      seen.push(every);
      // Gaps drawn from 1 to 2 every - 1: about 1.8% off at the most sparse (one standard deviation).
      expect(Math.abs(estimate - 1_000_000)).toBeLessThanOrEqual(100_000);
    }
    expect(seen).toEqual([32, 64, 128, 256, 512, 1024, 1024, 1024]);
    // Quiet again: as often as at first within a few rounds.
    const quiet: number[] = [];
    for (let r = 0; r < 6; r++) quiet.push(round(s, 5000).every);
    expect(quiet.at(-1)).toBe(32);
    expect(Math.abs(round(s, 5000).estimate - 5000)).toBeLessThanOrEqual(1250); // 4.6% one deviation
    s.stop();
    expect(s.countdown).toBe(Infinity);
  });

  it('count each of many receivers a sender serves in turn: the gaps do not fall in step with the turns', () => {
    const s = sampler();
    s.report();
    // 16 actors here, told in turn (a multiple of 16 between counted messages would count one only).
    for (let i = 0; i < 320_000; i++) if (--s.countdown === 0) s.edge(2, 5, 100 + (i % 16));
    const [edges] = s.report();
    const estimates = Array.from({ length: 16 }, (_, k) => {
      const edge = edges.find(([to]) => to === 100 + k);
      return edge === undefined ? 0 : edge[3] * edge[4];
    });
    // 20,000 each; about 1.1k off (one deviation) with one in 32 counted.
    for (const estimate of estimates) expect(Math.abs(estimate - 20_000)).toBeLessThanOrEqual(6000);
  });
});

describe('traffic samples across a rest', () => {
  it("a rate read after the planner's rest counts only what was handled since the sampling restarted", async () => {
    const cell = { key: 7, handled: 0, children: null, parentKey: 0 };
    let timed: ((key: number, ms: number) => void) | null = null;
    const host = { self: 1, cells: new Map([[7, cell]]), runtime: { timeRuns: (f: typeof timed) => (timed = f) }, isPlannable: () => true };
    const s = new TrafficSampler(host as never);
    const rateOf = (): number => s.report()[1].find(([key]) => key === 7)![2];
    s.report(); // sampling starts
    cell.handled += 1000;
    timed!(7, 0.1);
    rateOf(); // its baseline
    s.stop(); // the planner rests: its actor handles 100,000 unseen
    cell.handled += 100_000;
    s.report(); // sampling restarts
    const restarted = performance.now();
    cell.handled += 500;
    await new Promise((resolve) => setTimeout(resolve, 20));
    timed!(7, 0.1);
    // The sampler's window began before `restarted` and ends after `end`: 500 over at least
    // `end - restarted` (about 20 ms: 25,000 a second; from before the rest it would be millions).
    const end = performance.now();
    const rate = rateOf();
    expect(end - restarted).toBeGreaterThanOrEqual(19);
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual((500 * 1000) / (end - restarted));
  });
});
