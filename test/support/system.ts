// One system per test: started by the test, always shut down after it, pass or fail. Before it
// goes, no thread of it may have missed a wake-up (stats().lateWakes, runtime/wake-audit.ts): the
// audit would have woken it, and the test passed late, hiding a bug that hangs a program without
// the audit.

import { afterEach } from 'vitest';
import { createSystem, type ActorSystem, type SystemOptions } from 'troupe';
import { createTestSystem, type TestSystem } from 'troupe/testing';

/** Shuts `system` down, and fails if any of its threads missed a wake-up, the shutdown's drain included. */
export async function shutdownChecked(system: ActorSystem, options?: { drainMs: number }): Promise<void> {
  await system.shutdown(options);
  const late = system.stats().threads.filter((t) => t.lateWakes > 0); // read from shared memory and main: still there
  if (late.length > 0) throw new Error(`missed wake-ups, woken by the audit: ${late.map((t) => `thread ${t.thread}: ${t.lateWakes}`).join(', ')}`);
}

export function useSystem(): { start(options?: SystemOptions): Promise<ActorSystem>; readonly current: ActorSystem } {
  let current: ActorSystem | undefined;
  afterEach(async () => {
    const system = current;
    current = undefined;
    if (system !== undefined) await shutdownChecked(system);
  });
  return {
    async start(options) {
      if (current !== undefined) await shutdownChecked(current);
      current = await createSystem(options);
      return current;
    },
    get current() {
      if (current === undefined) throw new Error('no system started in this test');
      return current;
    },
  };
}

/** The same for the test kit's system (manual clock, probes); shutdown drains for 100 ms at most. */
export function useTestSystem(): { start(options?: Parameters<typeof createTestSystem>[0]): Promise<TestSystem> } {
  let current: TestSystem | undefined;
  afterEach(async () => {
    const system = current;
    current = undefined;
    if (system !== undefined) await shutdownChecked(system, { drainMs: 100 });
  });
  return {
    async start(options) {
      if (current !== undefined) await shutdownChecked(current, { drainMs: 100 });
      current = await createTestSystem(options);
      return current;
    },
  };
}
