// troupe/testing: what users need to test their own actors without sleeps. The second public
// door of the package (package.json exports "./testing").

import { createSystem, type ActorSystem, type SystemOptions } from '../index.js';
import { ManualClock } from './manual-clock.js';
import { TestProbe } from './probe.js';

export { ManualClock } from './manual-clock.js';
export { TERMINATED, TestProbe } from './probe.js';
export type { ProbeDefinition, ProbeMessage } from './probe.js';

/** A test system's shutdown: what it drains, and how long a stop may take, by default. */
const TEST_DRAIN_MS = 100;
const TEST_STOP_MS = 100;

export interface TestSystem extends ActorSystem {
  /** Drives ask timeouts and restart windows on the main thread. */
  readonly clock: ManualClock;
  /** A new probe: an actor on the main thread that records what it receives. */
  createProbe(): TestProbe;
}

/**
 * A system whose main-thread time is a ManualClock (unless options.clock says otherwise).
 * Defaults for tests: 1 worker, and a shutdown that drains for 100 ms and forces a stop after
 * 100 ms (drainMs, shutdownTimeoutMs), so a handler that never finishes cannot hold a test's
 * teardown for seconds.
 */
export async function createTestSystem(options: Omit<SystemOptions, 'clock'> & { clock?: ManualClock } = {}): Promise<TestSystem> {
  const clock = options.clock ?? new ManualClock();
  const system = await createSystem({ threads: 1, drainMs: TEST_DRAIN_MS, shutdownTimeoutMs: TEST_STOP_MS, ...options, clock });
  return Object.assign(system, {
    clock,
    createProbe: () => new TestProbe(system),
  });
}
