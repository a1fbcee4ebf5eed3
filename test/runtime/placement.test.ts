import { describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/runtime/control-block.js';
import { CTL_BYTES } from '../../src/runtime/layout.js';
import { Placer, RECENT_PLACEMENT_MS, liveWorker, pickBalanced } from '../../src/runtime/placement.js';
import { seededRandom } from '../support/random.js';

/** A random source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** `random()` values that make liveWorker start at thread `t` of `workers`. */
const at = (t: number, workers: number): number => (t - 1 + 0.5) / workers;

const alive = (): boolean => false;

describe('pickBalanced', () => {
  it('picks the lesser loaded of its two choices', () => {
    const loads = [0, 9, 3, 7, 1];
    expect(pickBalanced(4, alive, (t) => loads[t]!, sequence(at(1, 4), at(2, 4)))).toBe(2);
    expect(pickBalanced(4, alive, (t) => loads[t]!, sequence(at(3, 4), at(1, 4)))).toBe(3);
    // Thread 4 is the least loaded of all, but only the two choices compete.
    expect(pickBalanced(4, alive, (t) => loads[t]!, sequence(at(1, 4), at(3, 4)))).toBe(3);
  });

  it('takes the first choice on a tie', () => {
    expect(pickBalanced(4, alive, () => 5, sequence(at(3, 4), at(2, 4)))).toBe(3);
  });

  it('reads the first choice’s load first', () => {
    const read: number[] = [];
    pickBalanced(
      4,
      alive,
      (t) => {
        read.push(t);
        return 0;
      },
      sequence(at(4, 4), at(2, 4)),
    );
    expect(read).toEqual([4, 2]);
  });

  it('skips dead workers, going on round the circle', () => {
    const dead = (t: number): boolean => t === 2 || t === 3;
    expect(liveWorker(4, dead, () => at(2, 4))).toBe(4);
    expect(liveWorker(4, (t) => t !== 1, () => at(3, 4))).toBe(1);
    for (let i = 0; i < 20; i++) expect([1, 4]).toContain(pickBalanced(4, dead, () => 0, Math.random));
  });

  it('returns 0 (main) when no worker is alive, or there are none', () => {
    expect(liveWorker(3, () => true, Math.random)).toBe(0);
    expect(pickBalanced(3, () => true, () => 0, Math.random)).toBe(0);
    expect(pickBalanced(0, alive, () => 0, Math.random)).toBe(0);
  });
});

describe('Placer', () => {
  function setup(workers: number, random: () => number) {
    const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * (workers + 1)));
    const clock = { t: 1000 };
    const dead = new Set<number>();
    const placer = new Placer(ctl, workers, (t) => dead.has(t), () => clock.t, random);
    return { ctl, clock, dead, placer };
  }

  it('weighs each thread by its published actors and backlog', () => {
    const { ctl, placer } = setup(2, sequence(at(1, 2), at(2, 2)));
    ctl.publishLoad(1, 5, 2);
    ctl.publishLoad(2, 3, 1);
    expect(placer.load(1)).toBe(7);
    expect(placer.load(2)).toBe(4);
    expect(placer.pick()).toBe(2);
  });

  it(`counts its own placements for ${RECENT_PLACEMENT_MS} ms, then starts over`, () => {
    const { clock, placer } = setup(2, sequence(at(1, 2), at(2, 2)));
    expect(placer.pick()).toBe(1); // a tie: the first choice
    expect(placer.load(1)).toBe(1);
    expect(placer.pick()).toBe(2); // thread 1 now weighs one more
    expect(placer.pick()).toBe(1);
    expect(placer.load(1)).toBe(2);
    clock.t += RECENT_PLACEMENT_MS;
    expect(placer.load(1)).toBe(2); // still within the window
    clock.t += 0.5;
    expect(placer.load(1)).toBe(0);
    expect(placer.load(2)).toBe(0);
  });

  it('spreads a burst of spawns evenly over workers whose published load has not moved yet', () => {
    const { placer } = setup(4, seededRandom(42));
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 400; i++) counts[placer.pick()]!++;
    expect(counts[0]).toBe(0);
    for (const n of counts.slice(1)) expect(n).toBeGreaterThanOrEqual(95);
  });

  it('never places on a dead worker, and on main only when every worker is dead', () => {
    const { dead, placer } = setup(3, seededRandom(3));
    dead.add(2);
    for (let i = 0; i < 50; i++) expect(placer.pick()).not.toBe(2);
    dead.add(1).add(3);
    expect(placer.pick()).toBe(0);
  });

  it('places on main when there are no workers', () => {
    expect(setup(0, Math.random).placer.pick()).toBe(0);
  });
});
