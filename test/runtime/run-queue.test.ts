import { describe, expect, it } from 'vitest';
import { RunQueue, type Runnable } from '../../src/runtime/run-queue.js';

const work = (key: number): Runnable => ({ key, run: () => {} });
const keys = (q: RunQueue): (number | undefined)[] => {
  const out: (number | undefined)[] = [];
  for (let w = q.shift(); w !== undefined; w = q.shift()) out.push(w.key);
  return out;
};

describe('RunQueue', () => {
  it('gives work back first in, first out', () => {
    const q = new RunQueue(4);
    for (let k = 1; k <= 3; k++) q.push(work(k));
    expect(q.length).toBe(3);
    expect(keys(q)).toEqual([1, 2, 3]);
    expect(q.isEmpty).toBe(true);
    expect(q.shift()).toBeUndefined();
  });

  it('grows when full and keeps the order, with the contents wrapped round the end', () => {
    const q = new RunQueue(4);
    q.push(work(0));
    q.push(work(1));
    q.push(work(2));
    q.shift();
    q.shift(); // head at index 2: what follows wraps
    for (let k = 3; k <= 20; k++) q.push(work(k));
    expect(q.length).toBe(19);
    expect(keys(q)).toEqual(Array.from({ length: 19 }, (_, i) => i + 2));
  });

  it('keeps order over a long run of pushes and shifts that wrap many times', () => {
    const q = new RunQueue(2);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) q.push(work(next++));
      for (let i = 0; i < (round % 5) + 1 && !q.isEmpty; i++) expect(q.shift()!.key).toBe(expected++);
    }
    expect(keys(q)).toEqual(Array.from({ length: next - expected }, (_, i) => expected + i));
  });

  it.each([0, 1, 3, 1000])('refuses a capacity of %i (not a power of two >= 2)', (capacity) => {
    expect(() => new RunQueue(capacity)).toThrow(RangeError);
  });
});
