import { describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/runtime/control-block.js';
import { CTL_BYTES } from '../../src/runtime/layout.js';
import { Watchdog } from '../../src/runtime/watchdog.js';

const LIMIT = 100;

/** A watchdog over threads 1..workers of a fresh control block, on a manual clock. */
function setup(workers = 2) {
  const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * (workers + 1)));
  const clock = { t: 5000 };
  const down = new Set<number>();
  const threads = Array.from({ length: workers }, (_, i) => i + 1);
  const stalls: [thread: number, running: number, stalledMs: number][] = [];
  const watchdog = new Watchdog({
    control: ctl,
    limitMs: LIMIT,
    threads: () => threads,
    isUp: (t) => !down.has(t),
    onStall: (thread, running, stalledMs) => {
      stalls.push([thread, running, stalledMs]);
      down.add(thread); // as the system does: a reported thread is being ended
    },
    now: () => clock.t,
  });
  /** Advances the clock and looks once. */
  const at = (ms: number): void => {
    clock.t = 5000 + ms;
    watchdog.check();
  };
  return { ctl, down, threads, stalls, watchdog, at };
}

describe('Watchdog', () => {
  it('reports a thread whose heartbeat stands still while it is not parked, with the actor it runs', () => {
    const { ctl, stalls, at } = setup();
    ctl.runningSlot(2)[0] = 4242;
    at(0); // first sight: the limit runs from 100 on
    ctl.beat(1);
    at(150);
    expect(stalls).toEqual([]);
    ctl.beat(1);
    at(200);
    expect(stalls).toEqual([[2, 4242, 100]]);
  });

  it('gives a thread first seen one limit more before it counts', () => {
    const { stalls, at } = setup(1);
    at(0);
    at(LIMIT);
    at(2 * LIMIT - 1);
    expect(stalls).toEqual([]);
    at(2 * LIMIT);
    expect(stalls).toEqual([[1, 0, LIMIT]]);
  });

  it('never reports a thread whose heartbeat moves', () => {
    const { ctl, stalls, at } = setup(1);
    for (let ms = 0; ms <= 10 * LIMIT; ms += LIMIT / 4) {
      ctl.beat(1);
      at(ms);
    }
    expect(stalls).toEqual([]);
  });

  it('never reports a parked thread, and counts from when it woke', () => {
    const { ctl, stalls, at } = setup(1);
    const bell = ctl.bell(1);
    bell.prepareToPark();
    for (let ms = 0; ms <= 10 * LIMIT; ms += LIMIT / 4) at(ms);
    expect(stalls).toEqual([]);
    bell.cancelPark(); // awake, and stuck from here on
    at(10 * LIMIT + 99);
    expect(stalls).toEqual([]);
    at(11 * LIMIT);
    expect(stalls).toEqual([[1, 0, LIMIT]]);
  });

  it('reports each stall once while the caller marks the thread down', () => {
    const { stalls, at } = setup(1);
    at(0);
    at(2 * LIMIT);
    at(3 * LIMIT);
    at(10 * LIMIT);
    expect(stalls).toHaveLength(1);
  });

  it('starts a thread that was down afresh: a replacement gets the first-sight grace again', () => {
    const { down, stalls, at } = setup(1);
    at(0);
    at(2 * LIMIT);
    expect(stalls).toHaveLength(1);
    at(3 * LIMIT); // down: what was seen of it is dropped
    down.delete(1); // the replacement runs, its heartbeat not moving yet
    at(4 * LIMIT);
    at(5 * LIMIT + 99);
    expect(stalls).toHaveLength(1);
    at(6 * LIMIT);
    expect(stalls).toEqual([
      [1, 0, LIMIT],
      [1, 0, LIMIT],
    ]);
  });

  it('forget() gives a thread the first-sight grace again', () => {
    const { stalls, watchdog, at } = setup(1);
    at(0);
    at(LIMIT + 50);
    watchdog.forget(1);
    at(2 * LIMIT); // seen again for the first time: the limit runs from 300 on
    at(4 * LIMIT - 1);
    expect(stalls).toEqual([]);
    at(4 * LIMIT);
    expect(stalls).toHaveLength(1);
  });

  it('watches threads that join the list later', () => {
    const { threads, stalls, at } = setup(2);
    threads.pop();
    at(0);
    threads.push(2);
    at(LIMIT);
    at(3 * LIMIT);
    expect(stalls.map(([thread]) => thread)).toEqual([1, 2]);
  });

  it('looks every quarter of the limit, at least every 10 ms, until stopped', () => {
    const ticks: { check: () => void; periodMs: number; cancelled: boolean }[] = [];
    const every = (check: () => void, periodMs: number) => {
      const tick = { check, periodMs, cancelled: false };
      ticks.push(tick);
      return () => (tick.cancelled = true);
    };
    const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * 2));
    const options = { control: ctl, threads: () => [1], isUp: () => true, onStall: () => {}, every };
    const watchdog = new Watchdog({ ...options, limitMs: 2000 });
    watchdog.start();
    watchdog.start();
    expect(ticks.map((t) => t.periodMs)).toEqual([500]);
    watchdog.stop();
    expect(ticks[0]!.cancelled).toBe(true);
    expect(new Watchdog({ ...options, limitMs: 20 }).periodMs).toBe(10);
  });

  it('runs on a real timer by default, and stop() ends it', async () => {
    const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * 2));
    let stalled = 0;
    const watchdog = new Watchdog({ control: ctl, limitMs: 10, threads: () => [1], isUp: () => stalled === 0, onStall: () => stalled++ });
    watchdog.start();
    await expect.poll(() => stalled, { timeout: 2000, interval: 5 }).toBe(1);
    watchdog.stop();
  });
});
