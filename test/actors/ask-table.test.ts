import { describe, expect, it } from 'vitest';
import { AskTimeoutError } from 'troupe';
import { AskTable } from '../../src/actors/node/ask.js';
import { ManualClock } from 'troupe/testing';

describe('AskTable', () => {
  it('times out each ask at its own deadline, in deadline order, with one timer', async () => {
    const clock = new ManualClock();
    const table = new AskTable(clock);
    const order: number[] = [];
    const asks = [300, 100, 200, 100].map((ms, i) => {
      const { promise } = table.open(ms, () => `#${i}`);
      return promise.catch((e: Error) => {
        expect(e).toBeInstanceOf(AskTimeoutError);
        order.push(i);
      });
    });
    expect(clock.pending).toBe(1);
    clock.advance(99);
    await Promise.resolve();
    expect(order).toEqual([]);
    clock.advance(1);
    await Promise.resolve();
    expect(order).toEqual([1, 3]);
    clock.advance(200);
    await Promise.all(asks);
    expect(order).toEqual([1, 3, 2, 0]);
    expect(table.size).toBe(0);
  });

  it('does not time out an ask that was answered, and reports a second answer as late', async () => {
    const clock = new ManualClock();
    const table = new AskTable(clock);
    const { corr, promise } = table.open(100, () => 'x');
    expect(table.resolve(corr, 42)).toBe(true);
    clock.advance(1000);
    expect(await promise).toBe(42);
    expect(table.resolve(corr, 43)).toBe(false);
  });

  it('re-arms for an earlier deadline opened after a later one', async () => {
    const clock = new ManualClock();
    const table = new AskTable(clock);
    const late = table.open(5000, () => 'late').promise.catch(() => 'late timed out');
    const early = table.open(10, () => 'early').promise.catch(() => 'early timed out');
    clock.advance(10);
    expect(await early).toBe('early timed out');
    clock.advance(4990);
    expect(await late).toBe('late timed out');
  });

  it('treats 0 ms as no timeout', async () => {
    const clock = new ManualClock();
    const table = new AskTable(clock);
    const { corr, promise } = table.open(0, () => 'forever');
    expect(clock.pending).toBe(0);
    clock.advance(1e9);
    table.resolve(corr, 'done');
    expect(await promise).toBe('done');
  });
});

describe('AskTable timer', () => {
  it('disarms its timer once nothing is pending', () => {
    const clock = new ManualClock();
    const table = new AskTable(clock);
    const a = table.open(100, () => 'a');
    const b = table.open(200, () => 'b');
    expect(clock.pending).toBe(1);
    table.resolve(a.corr, 1);
    expect(clock.pending).toBe(1);
    table.resolve(b.corr, 2);
    expect(clock.pending).toBe(0);
  });
});
