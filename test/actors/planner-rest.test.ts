// The planner's loop (src/actors/planner/planner.ts) against a host played by hand: what it asks
// the threads, when it stops them sampling, and when it wakes. The decision itself is plan.ts's
// (plan.test.ts); the loop with real threads is planner.test.ts's.

import { afterEach, describe, expect, it } from 'vitest';
import { Planner, plannerOptions, type PlannerHost } from '../../src/actors/planner/planner.js';
import type { ControlBlock } from '../../src/runtime/control-block.js';
import type { ControlRecord } from '../../src/actors/node/wire.js';
import type { TrafficReport } from '../../src/actors/node/traffic-sample.js';

/** What happened, round by round: 'ask 1', 'off 2', 'main off', 'move 11 -> 2'. */
type Event = string;

/** Two workers, each with one actor that handles 1,000 messages a second and talks to no one, unless `report` says otherwise. */
function fakeHost(report: (thread: number) => TrafficReport, live: (thread: number) => boolean = () => true) {
  const events: Event[] = [];
  /** How often main's own samples were read. */
  const main = { reports: 0 };
  /** When each event happened (performance.now()). */
  const times: number[] = [];
  const log = (e: Event): void => {
    events.push(e);
    times.push(performance.now());
  };
  const pending = new Map<number, (value: unknown) => void>();
  let corr = 0;
  const host = {
    workers: 2,
    isLive: live,
    sampler: {
      report: () => {
        main.reports++;
        return report(0);
      },
      stop: () => log('main off'),
    },
    asks: {
      open: () => {
        const id = ++corr;
        return { corr: id, promise: new Promise((resolve) => pending.set(id, resolve)) };
      },
    },
    control: (thread: number, record: ControlRecord) => {
      if (record[0] === 'plan-sample') {
        log(`ask ${thread}`);
        const id = record[1] as number;
        pending.get(id)!(report(thread));
        pending.delete(id);
      } else if (record[0] === 'plan-off') log(`off ${thread}`);
    },
    refFor: (thread: number, key: number) => ({ thread, key }),
    move: (ref: { key: number }, to: number) => {
      log(`move ${ref.key} -> ${to}`);
      return Promise.resolve();
    },
  } as unknown as PlannerHost;
  const stats = new Float64Array(64);
  const ctl = { stats: () => stats } as unknown as ControlBlock;
  // The ring counters the planner reads every round, resting or not (rest-watch.ts): messages
  // between threads 1 and 2 grow by `perRound` at each round's look, which is also noted (by
  // how many events had happened then).
  const watch = {
    perRound: 0,
    between: 0,
    looks: [] as number[],
    messages: (from: number, to: number): number => {
      if (from === 1 && to === 2) {
        watch.looks.push(events.length);
        watch.between += watch.perRound;
      }
      return from === 1 && to === 2 ? watch.between : 0;
    },
    /** Rounds that looked after event `a` and up to event `b` (a rest's rounds, from its 'off' to the 'ask' that ends it). */
    roundsBetween: (a: number, b: number): number => watch.looks.filter((x) => x > a && x <= b).length,
  };
  return { host, ctl, events, times, main, watch };
}

const alone = (thread: number): TrafficReport => (thread === 0 ? [[], [], []] : [[], [[10 + thread, 0.01, 1000]], []]);

/** Resolves with the index of the first entry `what` past index `from` (the planner runs on its own timer); fails after 15 s. */
async function until(events: Event[], what: (e: Event) => boolean, from = 0): Promise<number> {
  const deadline = performance.now() + 15_000;
  for (;;) {
    const at = events.findIndex((e, i) => i >= from && what(e));
    if (at >= 0) return at;
    if (performance.now() > deadline) throw new Error(`not seen after 15 s; events: ${events.slice(from, from + 20).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let planner: Planner | null = null;
afterEach(async () => {
  planner?.close();
  await planner?.idle();
  planner = null;
});

describe('the planner rests (V3)', () => {
  it('V3: with nothing to decide for 2 s, it stops the threads sampling, then looks again after six rounds (three: one restarts the sampling, two are read); traffic that calls for a move wakes it', async () => {
    let report = alone;
    const { host, ctl, events, times } = fakeHost((t) => report(t));
    planner = new Planner(host, ctl, plannerOptions(10, 100, true));
    planner.start();
    // Every round asks both workers until it has gone 2 s deciding nothing (its actors warm first).
    const off = await until(events, (e) => e === 'off 1');
    expect(events.slice(off, off + 3).sort()).toEqual(['main off', 'off 1', 'off 2']);
    expect(times[off]! - times[0]!).toBeGreaterThanOrEqual(2000);
    expect(events.slice(0, off).every((e) => e.startsWith('ask'))).toBe(true);
    // Rests: the next asks come in three rounds in a row (one restarts the sampling, two are
    // read: the means start afresh), then it rests again, nothing having changed.
    const again = await until(events, (e) => e === 'off 1', off + 3);
    expect(events.slice(off + 3, again)).toEqual(['ask 1', 'ask 2', 'ask 1', 'ask 2', 'ask 1', 'ask 2']);
    expect(events.some((e) => e.startsWith('move'))).toBe(false);
    // Now the two actors talk, 50k messages a second each way: a round that reads it moves one
    // to the other's thread, without resting in between, and the planner stays awake after.
    report = (t) => (t === 0 ? [[], [], []] : [[[10 + t, 10 + (3 - t), 3 - t, 50_000, 1]], [[10 + t, 0.01, 50_000]], []]);
    const moved = await until(events, (e) => e.startsWith('move'), again + 3);
    expect(events[moved]).toMatch(/^move 1[12] -> [12]$/);
    expect(events.slice(again + 3, moved).some((e) => e.startsWith('off'))).toBe(false);
    const after = events.length;
    await until(events, (e) => e.startsWith('ask'), after);
    const next = await until(events, (e) => e.startsWith('ask'), after + 2);
    expect(events.slice(moved, next).some((e) => e.startsWith('off'))).toBe(false);
  });

  it('V3: each rest that found nothing doubles the next; traffic between threads, read from shared memory, ends a rest within rounds, and the next rest is short again', async () => {
    const { host, ctl, events, watch } = fakeHost(alone);
    planner = new Planner(host, ctl, plannerOptions(10, 100, false), watch.messages);
    planner.start();
    /** The next rest after event `from`: where it began, where it ended, how many rounds it took. */
    const nextRest = async (from: number): Promise<{ off: number; ask: number; rounds: number }> => {
      const off = await until(events, (e) => e === 'off 1', from);
      const ask = await until(events, (e) => e.startsWith('ask'), off);
      return { off, ask, rounds: watch.roundsBetween(off, ask) };
    };
    const first = await nextRest(0);
    const second = await nextRest(first.ask);
    const third = await nextRest(second.ask);
    expect([first.rounds, second.rounds, third.rounds]).toEqual([6, 12, 24]);
    // The fourth would last 48 rounds. A stream of 1M messages a second starts between the
    // threads during it: two rounds read it, and the third asks the workers again.
    const fourth = await until(events, (e) => e === 'off 1', third.ask);
    watch.perRound = 10_000;
    const woke = await until(events, (e) => e.startsWith('ask'), fourth);
    expect(watch.roundsBetween(fourth, woke)).toBeLessThanOrEqual(4);
    // Nothing there to move (the workers' samples show no edge): it rests again, six rounds as
    // at first; the stream goes on as it was, and does not wake it.
    const fifth = await nextRest(woke);
    expect(fifth.rounds).toBe(6);
  });

  it('V3: with main: false it rests the workers alone; a thread that died during the rest is not asked; close() during a rest ends it', async () => {
    let dead = false;
    const { host, ctl, events, main } = fakeHost(alone, (t) => !(dead && t === 2));
    planner = new Planner(host, ctl, plannerOptions(10, 100, false));
    planner.start();
    const off = await until(events, (e) => e === 'off 1');
    expect(events.slice(off, off + 2).sort()).toEqual(['off 1', 'off 2']);
    expect(events).not.toContain('main off');
    expect(main.reports).toBe(0);
    // Thread 2 dies while the planner rests: when it looks again, it asks thread 1 alone, and
    // stops only thread 1 when it rests again.
    dead = true;
    const again = await until(events, (e) => e === 'off 1', off + 2);
    expect(events.slice(off + 2, again)).toEqual(['ask 1', 'ask 1', 'ask 1']);
    expect(events.slice(again)).toEqual(['off 1']);
    // Closed during the rest: it tells the live workers to stop sampling, and asks nothing after.
    const p = planner;
    planner = null;
    p.close();
    await p.idle();
    const closed = events.length;
    expect(events.slice(again + 1)).toEqual(['off 1']);
    await new Promise((resolve) => setTimeout(resolve, 200)); // twenty intervals
    expect(events.length).toBe(closed);
    expect(main.reports).toBe(0);
  });
});
