import { describe, expect, it } from 'vitest';
import { CorrTable } from '../../src/actors/node/corr-table.js';

describe('pending asks by correlation id', () => {
  it('finds, removes and lists entries, with slow asks among many quick ones, and many in flight at once', () => {
    const table = new CorrTable<{ corr: number; v: string }>();
    const slow = [1, 2, 3].map((corr) => ({ corr, v: `slow${corr}` }));
    for (const e of slow) table.add(e);
    // 100k quick asks come and go past the slow ones: they move aside rather than the array growing for them.
    for (let corr = 4; corr < 100_004; corr++) {
      table.add({ corr, v: 'q' });
      expect(table.delete(corr)?.corr).toBe(corr);
    }
    expect(table.size).toBe(3);
    expect(table.get(2)?.v).toBe('slow2');
    expect(table.get(2 + 1024)).toBeUndefined();
    // Then 50k in flight at once: the array grows to hold them.
    for (let corr = 200_000; corr < 250_000; corr++) table.add({ corr, v: 'many' });
    expect(table.size).toBe(50_003);
    expect(table.get(249_999)?.v).toBe('many');
    expect(table.entries().filter((e) => e.v.startsWith('slow')).map((e) => e.corr).sort()).toEqual([1, 2, 3]);
    expect(table.delete(1)?.v).toBe('slow1');
    expect(table.delete(1)).toBeUndefined();
    for (let corr = 200_000; corr < 250_000; corr++) expect(table.delete(corr)?.corr).toBe(corr);
    expect(table.size).toBe(2);
  });
});
