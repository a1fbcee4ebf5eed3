import { describe, expect, it } from 'vitest';
import { SpawnTable } from '../../src/actors/recovery/spawn-table.js';

describe('the spawner’s table of actors placed on one thread', () => {
  it('finds each key, forgets stopped ones, and lists the rest oldest first, across compactions', () => {
    const table = new SpawnTable<string>();
    for (let seq = 1; seq <= 1000; seq++) table.add(seq * 1024, `r${seq}`);
    expect(table.size).toBe(1000);
    expect(table.get(500 * 1024)).toBe('r500');
    expect(table.get(500 * 1024 + 1)).toBeUndefined();
    for (let seq = 1; seq <= 1000; seq++) if (seq % 10 !== 0) expect(table.delete(seq * 1024)).toBe(true);
    expect(table.delete(1024)).toBe(false); // already gone
    expect(table.size).toBe(100);
    expect(table.keys()).toEqual(Array.from({ length: 100 }, (_, i) => (i + 1) * 10 * 1024));
    expect(table.get(990 * 1024)).toBe('r990');
    table.set(990 * 1024, 'more');
    expect([...table].at(-2)).toEqual([990 * 1024, 'more']);
    table.set(7 * 1024, 'not here'); // a key that is gone stays gone
    expect(table.get(7 * 1024)).toBeUndefined();
  });

  it('keeps key order when a key comes out of order', () => {
    const table = new SpawnTable<number>();
    table.add(3, 3);
    table.add(1, 1);
    table.add(2, 2);
    table.add(2, 22);
    expect([...table]).toEqual([
      [1, 1],
      [2, 22],
      [3, 3],
    ]);
    expect(table.size).toBe(3);
  });
});
