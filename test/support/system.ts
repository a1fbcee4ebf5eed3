// One system per test: started by the test, always shut down after it, pass or fail.

import { afterEach } from 'vitest';
import { createSystem, type ActorSystem, type SystemOptions } from 'troupe';
import { createTestSystem, type TestSystem } from 'troupe/testing';

export function useSystem(): { start(options?: SystemOptions): Promise<ActorSystem>; readonly current: ActorSystem } {
  let current: ActorSystem | undefined;
  afterEach(async () => {
    await current?.shutdown();
    current = undefined;
  });
  return {
    async start(options) {
      await current?.shutdown();
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
    await current?.shutdown({ drainMs: 100 });
    current = undefined;
  });
  return {
    async start(options) {
      await current?.shutdown({ drainMs: 100 });
      current = await createTestSystem(options);
      return current;
    },
  };
}
