// N6 (its core-NATS part): a troupe cluster on a NATS cluster of three servers, with the
// membership bucket kept in three copies. The server this process is connected to is killed:
// its connection moves to another server, and the troupe cluster carries on: calls in both
// directions work again, no node is declared down, and a node that joins after the failover is
// seen (the bucket took heartbeats again). Then the server of the node called is killed. And a
// node whose NATS connection closes for good loses the others, loudly, and does not crash.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSystem, NodeDownError, type ActorRef, type ActorSystem } from 'troupe';
import { Keeper } from '../fixtures/cluster-actors.js';
import { startNode, type NodeProcess } from '../support/cluster-nodes.js';
import { startNatsCluster, startNatsServer, type NatsServer } from '../support/nats-server.js';
import { until } from '../support/wait.js';

const bin = inject('natsBin');
type Ref = ActorRef<typeof Keeper>;

describe.skipIf(bin === '')('cluster on a NATS cluster of three servers', () => {
  const namespace = `t${randomBytes(4).toString('hex')}`;
  // Long enough to ride out a JetStream leader election (5-8 s) without declaring anyone down.
  // Reconnecting without giving up, as in production: a busy machine may fail a few tries in a row.
  const timing = { heartbeatMs: 500, downAfterMs: 20_000, replicas: 3, shards: 32, connection: { reconnectTimeWait: 100, noRandomize: true, maxReconnectAttempts: -1 } };
  let servers: NatsServer[];
  let system: ActorSystem;
  const nodes: NodeProcess[] = [];
  const leaves: string[] = [];

  beforeAll(async () => {
    servers = await startNatsCluster(bin, 3);
    const urls = servers.map((s) => s.url);
    // This process on the first server; b on the second, c on the third.
    system = await createSystem({ threads: 1, cluster: { servers: urls, name: 'a', namespace, ...timing } });
    system.cluster!.on('leave', (member) => leaves.push(member.name));
    nodes.push(await startNode([urls[1]!, urls[2]!, urls[0]!], 'b', namespace, timing));
    nodes.push(await startNode([urls[2]!, urls[0]!, urls[1]!], 'c', namespace, timing));
    await until(() => system.cluster!.members().length === 3, 20_000, 'three members');
  }, 90_000);

  afterAll(async () => {
    await system?.shutdown();
    await Promise.all(nodes.map((n) => n.leave()));
    await Promise.all((servers ?? []).map((s) => s.stop()));
  }, 60_000);

  /** Tells `count` notes, then asks for the log: the ask settles after them (one sender, one receiver). */
  async function roundOf(keeper: Ref, tag: string, count: number): Promise<unknown[]> {
    for (let i = 0; i < count; i++) keeper.tell('note', `${tag}${i}`);
    return (await keeper.ask('log', undefined, { timeoutMs: 5000 })) as unknown[];
  }

  it('N6: one server of three killed: calls go on across the other two, no node is declared down, a node can still join', async () => {
    const b = (await system.lookup<typeof Keeper>('keeper', { node: 'b' }))!;
    const c = (await system.lookup<typeof Keeper>('keeper-main', { node: 'c' }))!;
    await b.ask('clear');
    expect(await roundOf(b, 'before', 100)).toHaveLength(100);

    await servers[0]!.stop('SIGKILL'); // the server this process is connected to

    // The connection moves to another server; until it has, calls may fail: tried again with a fresh round each time.
    let answered: unknown[] = [];
    await until(
      async () => {
        try {
          await b.ask('clear', undefined, { timeoutMs: 2000 });
          answered = await roundOf(b, 'after', 500);
          return true;
        } catch {
          return false;
        }
      },
      40_000,
      'calls to b after the failover',
    );
    expect(answered).toEqual(Array.from({ length: 500 }, (_, i) => `after${i}`));
    expect(await c.ask('echo', 'c too', { timeoutMs: 5000 })).toBe('c too');
    // c asks b through this node's ref: the other two servers carry it.
    expect(await c.ask('askOther', { to: b, type: 'echo', payload: 'c to b' })).toEqual({ ok: true, value: 'c to b' });
    // Membership goes on: a node started now, on a surviving server, is seen; nobody was declared down.
    // Its join reads and writes buckets whose leaders may be moving still (5-8 s each): given time.
    nodes.push(await startNode([servers[1]!.url], 'd', namespace, timing, 60_000));
    await until(() => system.cluster!.member('d') !== undefined, 30_000, 'd to join after the failover');
    expect(leaves).toEqual([]);
    expect(system.cluster!.members().map((m) => m.name).sort()).toEqual(['a', 'b', 'c', 'd']);

    // Now b's server: while b's connection moves, no one reads its inbox for a moment, and calls
    // to it fail fast; once it has moved, b is reached again (a node the membership did not
    // declare gone is tried again at each call).
    await servers[1]!.stop('SIGKILL');
    await until(
      async () => {
        try {
          return (await b.ask('echo', 'b again', { timeoutMs: 2000 })) === 'b again';
        } catch {
          return false;
        }
      },
      40_000,
      'calls to b after its server died',
    );
    expect(leaves).toEqual([]);
  }, 120_000);
});

describe.skipIf(bin === '')('a NATS connection closed for good', () => {
  it('N2: every other node leaves (down), calls to them fail with NodeDownError, and the process goes on', async () => {
    const server = await startNatsServer(bin);
    const namespace = `t${randomBytes(4).toString('hex')}`;
    const y = await startNode(server.url, 'y', namespace);
    const z = await createSystem({ threads: 1, cluster: { servers: server.url, name: 'z', namespace, heartbeatMs: 200, downAfterMs: 1000, connection: { maxReconnectAttempts: 0 } } });
    try {
      await until(() => z.cluster!.member('y') !== undefined, 10_000, 'y to join');
      const keeper = (await z.lookup<typeof Keeper>('keeper', { node: 'y' }))!;
      expect(await keeper.ask('echo', 1)).toBe(1);
      const left = new Promise<string>((resolve) => z.cluster!.once('leave', (_m, reason) => resolve(reason)));
      await server.stop('SIGKILL');
      expect(await left).toBe('down');
      await expect(keeper.ask('echo', 2)).rejects.toThrow(NodeDownError);
      const local = z.spawn(Keeper, undefined, { placement: { thread: 1 } });
      expect(await local.ask('echo', 'this node goes on')).toBe('this node goes on');
      // Its topics go on here, groups included; services out of reach fail typed.
      const reader = z.spawn(Keeper, undefined, { placement: { thread: 1 } });
      const member = z.spawn(Keeper, undefined, { placement: { thread: 0 } });
      z.subscribe('local-news', reader);
      z.subscribe('local-news', member, { group: 'g' });
      expect(z.publish('local-news', 'note', 'still here')).toBe(1);
      await until(async () => ((await member.ask('log')) as unknown[]).length === 1, 5000, "the group's copy");
      expect(await reader.ask('log')).toEqual(['still here']);
      await expect(z.service<typeof Keeper>('anything').ask('echo', 1)).rejects.toThrow(NodeDownError);
    } finally {
      await z.shutdown();
      y.child.kill('SIGKILL');
      await y.exited;
    }
  }, 60_000);
});
