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
function fakeHost(report: (thread: number) => TrafficReport) {
  const events: Event[] = [];
  const pending = new Map<number, (value: unknown) => void>();
  let corr = 0;
  const host = {
    workers: 2,
    isLive: () => true,
    sampler: {
      report: () => report(0),
      stop: () => events.push('main off'),
    },
    asks: {
      open: () => {
        const id = ++corr;
        return { corr: id, promise: new Promise((resolve) => pending.set(id, resolve)) };
      },
    },
    control: (thread: number, record: ControlRecord) => {
      if (record[0] === 'plan-sample') {
        events.push(`ask ${thread}`);
        const id = record[1] as number;
        pending.get(id)!(report(thread));
        pending.delete(id);
      } else if (record[0] === 'plan-off') events.push(`off ${thread}`);
    },
    refFor: (thread: number, key: number) => ({ thread, key }),
    move: (ref: { key: number }, to: number) => {
      events.push(`move ${ref.key} -> ${to}`);
      return Promise.resolve();
    },
  } as unknown as PlannerHost;
  const stats = new Float64Array(64);
  const ctl = { stats: () => stats } as unknown as ControlBlock;
  return { host, ctl, events };
}

const alone = (thread: number): TrafficReport => (thread === 0 ? [[], [], []] : [[], [[10 + thread, 0.01, 1000]], []]);

/** Resolves once `events` has an entry `what` past index `from` (the planner runs on its own timer). */
async function until(events: Event[], what: (e: Event) => boolean, from = 0): Promise<number> {
  for (;;) {
    const at = events.findIndex((e, i) => i >= from && what(e));
    if (at >= 0) return at;
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
  it('V3: with nothing to decide for a while, it stops the threads sampling, then looks again one round in seven; traffic that calls for a move wakes it', async () => {
    let report = alone;
    const { host, ctl, events } = fakeHost((t) => report(t));
    planner = new Planner(host, ctl, plannerOptions(10, 100, true));
    planner.start();
    // Every round asks both workers until it has been quiet for two seconds (its actors warm).
    const off = await until(events, (e) => e === 'off 1');
    expect(events.slice(off, off + 3).sort()).toEqual(['main off', 'off 1', 'off 2']);
    expect(events.slice(0, off).filter((e) => e.startsWith('ask')).length).toBeGreaterThan(150);
    // Rests: the next asks come together (one round restarts the sampling, the next reads it),
    // then it rests again, nothing having changed.
    const again = await until(events, (e) => e === 'off 1', off + 3);
    expect(events.slice(off + 3, again)).toEqual(['ask 1', 'ask 2', 'ask 1', 'ask 2']);
    expect(events.some((e) => e.startsWith('move'))).toBe(false);
    // Now the two actors talk, 50k messages a second each way: the round that reads it moves
    // one to the other's thread, and the planner stays awake.
    report = (t) => (t === 0 ? [[], [], []] : [[[10 + t, 10 + (3 - t), 3 - t, 50_000, 1]], [[10 + t, 0.01, 50_000]], []]);
    const moved = await until(events, (e) => e.startsWith('move'), again);
    expect(events[moved]).toMatch(/^move 1[12] -> [12]$/);
    const after = events.length;
    await until(events, (e) => e.startsWith('ask'), after);
    await until(events, (e) => e.startsWith('ask'), after + 3);
    expect(events.slice(after).filter((e) => e.startsWith('off')).length).toBe(0);
  });
});
