// One system per test: started by the test, always shut down after it, pass or fail.

import { afterEach } from 'vitest';
import { createSystem, type ActorSystem, type SystemOptions } from 'troupe';

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
