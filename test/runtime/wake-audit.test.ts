import { describe, expect, it } from 'vitest';
import { ControlBlock } from '../../src/runtime/control-block.js';
import { RecordKind } from '../../src/runtime/layout.js';
import { RingProducer } from '../../src/runtime/ring-buffer.js';
import { createTopology } from '../../src/runtime/topology.js';
import { WakeAudit } from '../../src/runtime/wake-audit.js';

/**
 * Two threads' shared memory. Thread 1 is played here: it parks on its bell for real
 * (Atomics.waitAsync), and a producer publishes into its ring from thread 0 without ringing it:
 * a missed wake-up. The audit's looks are called by hand (no timer).
 */
function setup() {
  const topology = createTopology(2, 4096);
  const ctl = new ControlBlock(topology.ctl);
  const down = new Set<number>();
  const late: [thread: number, bytes: number][] = [];
  const audit = new WakeAudit({
    control: ctl,
    unread: (thread) => topology.unreadBytesInto(thread),
    threads: () => [0, 1],
    isUp: (thread) => !down.has(thread),
    onLate: (thread, bytes) => late.push([thread, bytes]),
    every: () => () => undefined,
  });
  const producer = new RingProducer(topology.rings[0]![1]!);
  /** Publishes one record into thread 1's ring, and rings nobody. */
  const publishSilently = (): void => {
    expect(producer.tryWrite(RecordKind.Tell, 0, 0, 7, 0, 0, 0, new Uint8Array(16))).toBe(true);
    producer.publish();
  };
  /** Thread 1 goes to sleep: resolves with 'woke' once it is rung. */
  const park = (): { woke: () => boolean; done: Promise<void> } => {
    const bell = ctl.bell(1);
    let woke = false;
    const done = bell.park(bell.prepareToPark()).then(() => void (woke = true));
    return { woke: () => woke, done };
  };
  return { ctl, topology, down, late, audit, publishSilently, park };
}

/** A few event-loop turns: what a wake-up needs to reach its waiter here. */
async function turns(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('WakeAudit', () => {
  it('wakes a thread asleep with records waiting at two looks, and reports it once', async () => {
    const { ctl, late, audit, publishSilently, park, topology } = setup();
    const sleeper = park();
    publishSilently();
    const bytes = topology.unreadBytesInto(1);
    expect(bytes).toBeGreaterThan(0);
    audit.look(); // first seen so: a producer may be about to ring
    await turns();
    expect(sleeper.woke()).toBe(false);
    expect(late).toEqual([]);
    audit.look(); // still asleep, not rung since, the records still there: a missed wake-up
    await sleeper.done;
    expect(sleeper.woke()).toBe(true);
    expect(ctl.parked(1)).toBe(false);
    expect(late).toEqual([[1, bytes]]);
    audit.look();
    audit.look();
    expect(late).toHaveLength(1); // awake now: nothing more to report
  });

  it('leaves alone a thread that was rung between its looks, and one asleep with empty rings', async () => {
    const { ctl, late, audit, publishSilently, park } = setup();
    const first = park();
    audit.look(); // asleep, nothing waiting: fine
    audit.look();
    await turns();
    expect(first.woke()).toBe(false);
    publishSilently();
    audit.look(); // suspect
    ctl.bell(1).ring(); // the producer rings late, but within the period
    await first.done;
    // It sleeps again before it read the records (as a thread that woke for its loop and parked).
    const second = park();
    audit.look(); // rung since the last look: a first sighting again, not a missed wake-up
    await turns();
    expect(second.woke()).toBe(false);
    expect(late).toEqual([]);
    audit.look();
    await second.done;
    expect(late).toHaveLength(1);
  });

  it('does not judge a thread that is not up (dead, being replaced)', async () => {
    const { down, late, audit, publishSilently, park } = setup();
    down.add(1);
    const sleeper = park();
    publishSilently();
    audit.look();
    audit.look();
    audit.look();
    await turns();
    expect(sleeper.woke()).toBe(false);
    expect(late).toEqual([]);
    down.delete(1);
    audit.look();
    audit.look();
    await sleeper.done;
    expect(late).toHaveLength(1);
  });
});
