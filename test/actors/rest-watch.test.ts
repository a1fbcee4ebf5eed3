// What a resting planner watches (src/actors/planner/rest-watch.ts): counters played by hand,
// read once a round (100 ms apart here).

import { describe, expect, it } from 'vitest';
import { RestWatch } from '../../src/actors/planner/rest-watch.js';

/** Threads 0..2; each round adds `busy[t]` of 100 ms to thread t's busy time and `rate[a-b]` messages a second between a and b. */
function setup() {
  const busyMs = [0, 0, 0];
  const messages = new Map<string, number>();
  const watch = new RestWatch({ busyMs: (t) => busyMs[t]!, messages: (from, to) => messages.get(`${from}-${to}`) ?? 0 });
  let now = 0;
  const load = { busy: [0.1, 0.9, 0.2], rate: new Map<string, number>([['1-2', 100_000]]) };
  const round = (): void => {
    now += 100;
    for (let t = 0; t < 3; t++) busyMs[t]! += load.busy[t]! * 100;
    for (const [pair, rate] of load.rate) messages.set(pair, (messages.get(pair) ?? 0) + rate / 10);
    watch.look([0, 1, 2], now);
  };
  return { watch, load, round };
}

describe('the rest watch (V3)', () => {
  it('V3: the same load and traffic as before the rest wake nothing; a rate that moved less than 20,000 a second neither', () => {
    const { watch, load, round } = setup();
    for (let i = 0; i < 4; i++) round();
    watch.rest();
    for (let i = 0; i < 5; i++) {
      round();
      expect(watch.changed()).toBeNull();
    }
    load.rate.set('2-1', 15_000); // the reply stream: 15% more between 1 and 2, under both thresholds
    load.busy[2] = 0.4;
    for (let i = 0; i < 5; i++) round();
    expect(watch.changed()).toBeNull();
  });

  it('V3: a thread whose busy share moved past a quarter, or traffic between two threads that rose by half, is a change, read over two rounds at least', () => {
    const { watch, load, round } = setup();
    for (let i = 0; i < 3; i++) round();
    watch.rest();
    load.busy[1] = 0.3; // the busy thread went idle
    round();
    expect(watch.changed()).toBeNull(); // one round says little
    round();
    expect(watch.changed()).toBe('thread 1 busy 0.90 -> 0.30');
    watch.wake();
    expect(watch.changed()).toBeNull(); // awake: nothing to compare

    const other = setup();
    for (let i = 0; i < 3; i++) other.round();
    other.watch.rest();
    other.load.rate.set('0-2', 60_000); // main's code starts talking to thread 2
    other.round();
    other.round();
    expect(other.watch.changed()).toBe('threads 0 and 2: 0 -> 60000 msg/s');
  });
});
