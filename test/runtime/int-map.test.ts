// The integer-keyed map against a Map as its model: seeded interleavings of sets, deletes and
// gets over keys shaped as actor keys (a counter above a 10-bit tag) and some beyond 2^32,
// through growth, shrinking and deletions that shift entries back.

import { describe, expect, it } from 'vitest';
import { IntMap } from '../../src/runtime/int-map.js';
import { seededRandom } from '../support/random.js';

describe('IntMap', () => {
  for (const seed of [1, 2, 3]) {
    it(`agrees with a Map through a seeded churn (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const map = new IntMap<{ key: number }>();
      const model = new Map<number, { key: number }>();
      let seq = 0;
      const live: number[] = [];
      for (let step = 0; step < 60_000; step++) {
        const r = random();
        if (r < 0.5 || live.length === 0) {
          const tag = Math.floor(random() * 3);
          const key = ++seq * 1024 + tag + (random() < 0.05 ? 2 ** 40 : 0);
          const value = { key };
          map.set(key, value);
          model.set(key, value);
          live.push(key);
        } else if (r < 0.85) {
          const at = Math.floor(random() * live.length);
          const key = live[at]!;
          live[at] = live[live.length - 1]!;
          live.pop();
          expect(map.delete(key)).toBe(true);
          model.delete(key);
          expect(map.delete(key)).toBe(false);
        } else {
          const key = live[Math.floor(random() * live.length)]!;
          expect(map.get(key)).toBe(model.get(key));
          expect(map.get(key + 1)).toBe(model.get(key + 1));
        }
        expect(map.size).toBe(model.size);
      }
      for (const [key, value] of model) expect(map.get(key)).toBe(value);
      expect(map.values()).toEqual([...model.values()].sort((a, b) => a.key - b.key));
      for (const key of live) map.delete(key);
      expect(map.size).toBe(0);
      expect(map.values()).toEqual([]);
    });
  }

  it('refuses a key that is not a positive number, and replaces the value of a key it has', () => {
    const map = new IntMap<string>();
    expect(() => map.set(0, 'x')).toThrow(RangeError);
    map.set(5, 'a');
    map.set(5, 'b');
    expect(map.size).toBe(1);
    expect(map.get(5)).toBe('b');
    expect(map.has(6)).toBe(false);
  });
});
