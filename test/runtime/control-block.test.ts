import { describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/runtime/control-block.js';
import { CTL_BYTES, HISTOGRAM_SLOTS, HISTOGRAMS, STAT_FIELDS, STAT_HANDLED, ThreadState } from '../../src/runtime/layout.js';
import { RingConsumer, RingProducer } from '../../src/runtime/ring-buffer.js';
import { createTopology } from '../../src/runtime/topology.js';

describe('ControlBlock', () => {
  it('gives each thread its own fields', () => {
    const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * 3));
    expect(ctl.threadCount).toBe(3);
    ctl.setState(1, ThreadState.Running);
    ctl.setState(2, ThreadState.Dead);
    ctl.publishLoad(1, 7, 3);
    ctl.beat(1);
    ctl.beat(1);
    ctl.stats(2)[STAT_HANDLED] = 42;
    ctl.runningSlot(1)[0] = 12345;
    expect([0, 1, 2].map((t) => ctl.state(t))).toEqual([ThreadState.Starting, ThreadState.Running, ThreadState.Dead]);
    expect([0, 1, 2].map((t) => [ctl.actors(t), ctl.load(t), ctl.heartbeat(t)])).toEqual([
      [0, 0, 0],
      [7, 3, 2],
      [0, 0, 0],
    ]);
    expect([0, 1, 2].map((t) => ctl.stats(t)[STAT_HANDLED])).toEqual([0, 0, 42]);
    expect([0, 1, 2].map((t) => ctl.running(t))).toEqual([0, 12345, 0]);
  });

  it('keeps the counters, the histograms, the running key and the int fields apart within a thread', () => {
    const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * 2));
    ctl.stats(0).fill(-1);
    ctl.histograms(0).fill(-2);
    expect(ctl.stats(0)).toHaveLength(STAT_FIELDS);
    expect(ctl.histograms(0)).toHaveLength(HISTOGRAMS * HISTOGRAM_SLOTS);
    expect([ctl.state(0), ctl.heartbeat(0), ctl.actors(0), ctl.load(0), ctl.parked(0), ctl.running(0), ctl.deadLettersWatched()]).toEqual([0, 0, 0, 0, false, 0, false]);
    expect(ctl.stats(0).every((v) => v === -1)).toBe(true);
    expect([...ctl.stats(1), ...ctl.histograms(1)].every((v) => v === 0)).toBe(true);
  });

  it('hands out one histogram view per thread, over the shared memory', () => {
    const sab = new SharedArrayBuffer(CTL_BYTES * 2);
    const a = new ControlBlock(sab);
    expect(a.histograms(1)).toBe(a.histograms(1));
    a.histograms(1)[3] = 7;
    expect(new ControlBlock(sab).histograms(1)[3]).toBe(7);
    expect(a.histograms(0)[3]).toBe(0);
  });

  it('hands out one stats view per thread, over the shared memory', () => {
    const sab = new SharedArrayBuffer(CTL_BYTES * 2);
    const a = new ControlBlock(sab);
    const b = new ControlBlock(sab);
    expect(a.stats(1)).toBe(a.stats(1));
    a.stats(1)[0] = 9;
    expect(b.stats(1)[0]).toBe(9);
  });

  it('reports parked while the thread waits on its bell', async () => {
    const ctl = new ControlBlock(new SharedArrayBuffer(CTL_BYTES * 2));
    const bell = ctl.bell(1);
    const value = bell.prepareToPark();
    const parked = bell.park(value);
    expect(ctl.parked(1)).toBe(true);
    expect(ctl.parked(0)).toBe(false);
    ctl.bell(1).ring();
    await parked;
    expect(ctl.parked(1)).toBe(false);
  });

  it('sets and clears the dead-letters-watched flag in main’s block', () => {
    const sab = new SharedArrayBuffer(CTL_BYTES * 2);
    const main = new ControlBlock(sab);
    const worker = new ControlBlock(sab);
    main.watchDeadLetters(true);
    expect(worker.deadLettersWatched()).toBe(true);
    main.watchDeadLetters(false);
    expect(worker.deadLettersWatched()).toBe(false);
  });

  it("sets main's watch bits, apart from the dead-letters flag, and wakes every parked worker to see them", async () => {
    const sab = new SharedArrayBuffer(CTL_BYTES * 3);
    const main = new ControlBlock(sab);
    const worker = new ControlBlock(sab);
    const parked = [1, 2].map((t) => worker.bell(t).park(worker.bell(t).prepareToPark()));
    main.setWatchBits(0b101);
    await Promise.all(parked);
    expect([worker.watchBits(), worker.deadLettersWatched(), worker.parked(1), worker.parked(2)]).toEqual([0b101, false, false, false]);
    main.setWatchBits(0);
    expect(worker.watchBits()).toBe(0);
  });
});

describe('Topology.unreadBytesInto', () => {
  it('sums what is published and unread in every ring into a thread', () => {
    const topology = createTopology(3, 1024);
    const into2 = [new RingProducer(topology.rings[0]![2]!), new RingProducer(topology.rings[1]![2]!)];
    const payload = new Uint8Array(8);
    into2[0]!.tryWrite(1, 0, 0, 0, 0, 0, 0, payload); // 32 + 8 bytes
    into2[1]!.tryWrite(1, 0, 0, 0, 0, 0, 0, payload);
    into2[1]!.tryWrite(1, 0, 0, 0, 0, 0, 0, new Uint8Array(0)); // 32 bytes
    expect(topology.unreadBytesInto(2)).toBe(0); // nothing published yet
    into2[0]!.publish();
    into2[1]!.publish();
    expect(topology.unreadBytesInto(2)).toBe(40 + 72);
    expect(topology.unreadBytesInto(0)).toBe(0);
    new RingConsumer(topology.rings[1]![2]!).take(new Uint8Array(1024), 1024);
    expect(topology.unreadBytesInto(2)).toBe(40);
  });
});
