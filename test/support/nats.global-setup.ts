// Vitest global setup: one nats-server for the cluster suites (test/cluster/), its URL provided
// to them as `natsUrl`. Without the binary they are skipped with a warning, unless REQUIRE_NATS=1
// (what .ci/run sets after installing it): then its absence fails the run.

import type { TestProject } from 'vitest/node';
import { findNatsServer, startNatsServer } from './nats-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The server's URL; '' when no nats-server was found (the cluster suites skip). */
    natsUrl: string;
    /** The nats-server binary, for suites that start servers of their own; '' when none. */
    natsBin: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const bin = findNatsServer();
  if (bin === null) {
    if (process.env['REQUIRE_NATS'] === '1') throw new Error('REQUIRE_NATS=1 but no nats-server was found (apt-get install -y nats-server)');
    console.warn('[nats] nats-server not found: the cluster tests are SKIPPED (apt-get install -y nats-server, or set NATS_SERVER_BIN)');
    project.provide('natsUrl', '');
    project.provide('natsBin', '');
    return undefined;
  }
  const server = await startNatsServer(bin);
  project.provide('natsUrl', server.url);
  project.provide('natsBin', bin);
  return () => server.stop();
}
