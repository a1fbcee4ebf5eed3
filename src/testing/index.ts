// troupe/testing: what users need to test their own actors without sleeps. The second public
// door of the package (package.json exports "./testing").

import { createSystem, type ActorSystem, type SystemOptions } from '../index.js';
import { ManualClock } from './manual-clock.js';
import { TestProbe } from './probe.js';

export { ManualClock } from './manual-clock.js';
export { TERMINATED, TestProbe } from './probe.js';
export type { ProbeDefinition, ProbeMessage } from './probe.js';

export interface TestSystem extends ActorSystem {
  /** Drives ask timeouts and restart windows on the main thread. */
  readonly clock: ManualClock;
  /** A new probe: an actor on the main thread that records what it receives. */
  createProbe(): TestProbe;
}

/** A system whose main-thread time is a ManualClock (unless options.clock says otherwise). Default: 1 worker. */
export async function createTestSystem(options: Omit<SystemOptions, 'clock'> & { clock?: ManualClock } = {}): Promise<TestSystem> {
  const clock = options.clock ?? new ManualClock();
  const system = await createSystem({ threads: 1, ...options, clock });
  return Object.assign(system, {
    clock,
    createProbe: () => new TestProbe(system),
  });
}
