// N7 (credentials): a NATS server that takes only clients with its token. A node given the token
// joins, and its entities work (each worker thread's own connection to the store gets it too); a
// node without it is refused with ActorInitializationError, and nothing is left running.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ActorInitializationError, createSystem, type ActorSystem } from 'troupe';
import { Account } from '../fixtures/cluster-actors.js';
import { startNatsServer, type NatsServer } from '../support/nats-server.js';

const bin = inject('natsBin');
const TOKEN = 's3cret-token';

describe.skipIf(bin === '')('cluster: a NATS server that takes a token', () => {
  let server: NatsServer;
  let system: ActorSystem;

  beforeAll(async () => {
    server = await startNatsServer(bin, { token: TOKEN });
  }, 30_000);

  afterAll(async () => {
    await system?.shutdown();
    await server?.stop();
  }, 30_000);

  it('N7: a node with the token joins and keeps entities in NATS from its worker threads; one without it is refused', async () => {
    await expect(createSystem({ threads: 1, cluster: { servers: server.url, name: 'intruder', shards: 4 } })).rejects.toBeInstanceOf(ActorInitializationError);
    system = await createSystem({ threads: 1, cluster: { servers: server.url, name: 'a', token: TOKEN, shards: 4, heartbeatMs: 200, downAfterMs: 1000 } });
    const account = system.entity(Account, 'locked');
    expect(await account.send('charge', { id: 'c1', amount: 3 }, { messageId: 'c1' })).toEqual({ duplicate: false });
    expect(await account.ask('read', undefined, { timeoutMs: 10_000 })).toMatchObject({ balance: 3, applied: ['c1'] });
  }, 60_000);
});
