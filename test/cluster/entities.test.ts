// N4: entities across the nodes of a cluster, with real processes on a real nats-server. This
// process is one node ('a'); the others are child processes (test/fixtures/cluster-node.ts). Every
// node's code defines the entity Account (test/fixtures/cluster-actors.ts), which records each
// charge's id and the process that handled it.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSystem, InvalidArgumentError, SerializationError, type ActorRef, type ActorSystem, type DeadLetter } from 'troupe';
import { Account, Charger } from '../fixtures/cluster-actors.js';
import { startNode, type NodeProcess } from '../support/cluster-nodes.js';
import { until } from '../support/wait.js';

const url = inject('natsUrl');
const SHARDS = 32;
const OPTIONS = { heartbeatMs: 200, downAfterMs: 1000, shards: SHARDS };
type State = { balance: number; applied: string[]; pid: number };

describe.skipIf(url === '')('cluster: entities across nodes', () => {
  const namespace = `t${randomBytes(4).toString('hex')}`;
  let system: ActorSystem;
  let b: NodeProcess;
  let c: NodeProcess;
  const letters: DeadLetter[] = [];
  const account = (key: string): ActorRef<typeof Account> => system.entity(Account, key);
  const read = (key: string): Promise<State> => account(key).ask('read', undefined, { timeoutMs: 10_000 }) as Promise<State>;
  /**
   * Keys `<prefix>-<i>` and their states, read again until `enough` holds of them: a node may still
   * be taking over shards (a rendezvous hash of ids new at each start may also give one node few).
   */
  const spread = async (prefix: string, enough: (keys: string[], states: State[]) => boolean): Promise<{ keys: string[]; states: State[] }> => {
    const keys = Array.from({ length: 48 }, (_, i) => `${prefix}-${i}`);
    let states: State[] = [];
    await until(async () => enough(keys, (states = await Promise.all(keys.map(read)))), 30_000, `keys ${prefix}-* spread over the nodes`);
    return { keys, states };
  };
  const onNode = (keys: string[], states: State[], here: boolean): string[] => keys.filter((_, i) => (states[i]!.pid === process.pid) === here);

  beforeAll(async () => {
    [b, c] = await Promise.all([startNode(url, 'b', namespace, OPTIONS), startNode(url, 'c', namespace, OPTIONS)]);
    system = await createSystem({ threads: 1, cluster: { servers: url, name: 'a', namespace, ...OPTIONS } });
    system.deadLetters.subscribe((letter) => letters.push(letter));
    await until(() => system.cluster!.members().length === 3, 10_000, 'three members');
  }, 60_000);

  afterAll(async () => {
    await system?.shutdown();
    await Promise.all([b?.leave(), c?.leave()]);
  }, 30_000);

  it('N4: one activation per key cluster-wide: keys live on every node, and calls from any thread of any node reach the same one', async () => {
    const keys = Array.from({ length: 24 }, (_, i) => `one-${i}`);
    // The shards settle on the three nodes (the first to start claimed them all, and hands them over).
    await until(async () => new Set((await Promise.all(keys.map(read))).map((s) => s.pid)).size === 3, 45_000, 'keys on all three nodes');
    for (const key of keys) expect(await account(key).send('charge', { id: `main:${key}`, amount: 1 }, { messageId: `main:${key}` })).toEqual({ duplicate: false });
    const charger = await system.start(Charger, undefined, { placement: { thread: 1 } });
    const fromWorker = (await charger.ask('charge', { keys, id: 'worker' }, { timeoutMs: 20_000 })) as State[];
    const states = await Promise.all(keys.map(read));
    for (const [i, state] of states.entries()) {
      expect(state.applied).toEqual([`main:${keys[i]}`, `worker:${keys[i]}`]);
      expect(fromWorker[i]!.applied).toEqual(state.applied);
    }
    // Spread over the three processes (each owns some of the shards).
    const pids = new Set(states.map((s) => s.pid));
    expect(pids.size).toBe(3);
    // A duplicate by messageId is dropped wherever the key lives.
    expect(await account(keys[0]!).send('charge', { id: 'again', amount: 1 }, { messageId: `main:${keys[0]}` })).toEqual({ duplicate: true });
  }, 90_000);

  it('N4: the output gate across nodes: what a handler tells another entity goes once its commit is written, and is taken once', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `gate-${i}`);
    for (let i = 0; i < keys.length; i++) await account(keys[i]!).send('transfer', { id: `t${i}`, to: keys[(i + 1) % keys.length]!, amount: 5 });
    await until(async () => (await Promise.all(keys.map(read))).every((s) => s.applied.length === 2), 20_000, 'every transfer arrived');
    const states = await Promise.all(keys.map(read));
    for (const [i, state] of states.entries()) {
      expect(state.balance).toBe(0);
      expect(state.applied.sort()).toEqual([`t${(i + keys.length - 1) % keys.length}>`, `t${i}`].sort());
    }
  }, 60_000);

  it('N4: the output gate across nodes: what a handler tells or sends to another entity, then fails, never goes, to a key of its own node or of another', async () => {
    const { keys, states } = await spread('fail', (k, st) => onNode(k, st, true).length >= 2 && onNode(k, st, false).length >= 1);
    const source = keys.find((_, i) => states[i]!.pid === process.pid)!;
    const sameNode = keys.find((k, i) => k !== source && states[i]!.pid === process.pid)!;
    const otherNode = keys.find((_, i) => states[i]!.pid !== process.pid)!;
    for (const to of [sameNode, otherNode]) {
      for (const how of ['transferThenFail', 'transferBySendThenFail'] as const) {
        await expect(account(source).ask(how, { id: `${how}:${to}`, to }, { timeoutMs: 20_000 })).rejects.toThrow(/failed after (telling|sending)/);
      }
      // A transfer that commits, after them from the same source: once it arrived, one of theirs would have too.
      await account(source).ask('transfer', { id: `ok:${to}`, to, amount: 1 }, { timeoutMs: 20_000 });
      await until(async () => (await read(to)).applied.includes(`ok:${to}>`), 20_000, 'the committed transfer');
      expect((await read(to)).applied).toEqual([`ok:${to}>`]);
    }
  }, 90_000);

  it('N4, N7: a call to an entity from the wire that names no entity of this node is refused, typed, and its tell is a dead letter with its content', async () => {
    const { connect } = await import('@nats-io/transport-node');
    const { decodeBatch, encodeBatch, Entry, ServiceCall } = await import('../../src/cluster/wire-batch.js');
    const nc = await connect({ servers: url });
    try {
      const answers: unknown[][] = [];
      nc.subscribe(`${namespace}.n.forger0000000`, { callback: (_e, msg) => void answers.push(...decodeBatch(msg.data, {})[3]) });
      await nc.flush();
      const calls = [
        [Entry.ToEntity, ServiceCall.Ask, 7, 'NoSuchEntity', 'k', 'read', null, null],
        [Entry.ToEntity, ServiceCall.Tell, 0, 'ClusterKeeper', 'k', 'note', 'lost?', null], // an actor, not an entity
      ];
      const reply = await nc.request(`${namespace}.n.${system.cluster!.id}`, encodeBatch(['forger0000000', 'forger'], calls as never), { timeout: 5000 });
      expect(reply.data.length).toBe(0); // taken
      await until(() => answers.length > 0, 10_000, 'the answer to the ask');
      expect(answers[0]).toMatchObject([Entry.Answer, 7, false, { code: 'ERR_ACTOR_INIT' }]);
      await until(() => letters.some((l) => l.message.payload === 'lost?'), 10_000, 'the tell as a dead letter');
      expect(letters.find((l) => l.message.payload === 'lost?')).toMatchObject({ reason: 'decode-failed', message: { type: 'note' } });
      expect(await account('after-forgery').ask('read')).toMatchObject({ applied: [] }); // the node goes on
    } finally {
      await nc.close();
    }
  });

  it('N4: the same errors wherever the key lives: a payload that cannot travel, a messageId too long; a state over the NATS value limit fails its commit with a StorageError', async () => {
    const { keys, states } = await spread('err', (k, st) => onNode(k, st, true).length >= 1 && onNode(k, st, false).length >= 1);
    const here = keys.find((_, i) => states[i]!.pid === process.pid)!;
    const away = keys.find((_, i) => states[i]!.pid !== process.pid)!;
    for (const key of [here, away]) {
      const fn = (): number => 1;
      expect(() => account(key).tell('charge', fn as never)).toThrow(SerializationError);
      await expect(account(key).ask('charge', fn as never)).rejects.toBeInstanceOf(SerializationError);
      await expect(account(key).send('charge', { id: 'x', amount: 1 }, { messageId: 'm'.repeat(300) })).rejects.toBeInstanceOf(InvalidArgumentError);
      const grown = account(key).ask('grow', 2 * 1024 * 1024, { timeoutMs: 10_000 });
      // Its handler's commit fails with a StorageError, as a full disk's would: the ask hears it.
      await expect(grown).rejects.toThrow(/the state of entity ClusterAccount\/err-\d+ takes \d+ bytes: more than a NATS KV value may/);
      expect((await read(key)).applied).toEqual([]); // its state is what it committed last
    }
  }, 60_000);

  it('N4: a node that leaves hands its shards over at once: its keys carry on elsewhere with their state, long before it would be declared down', async () => {
    const e = await startNode(url, 'e', namespace, { ...OPTIONS, downAfterMs: 30_000, heartbeatMs: 1000 });
    await until(() => system.cluster!.members().length === 4, 20_000, 'four members');
    const keys = Array.from({ length: 40 }, (_, i) => `leave-${i}`);
    await until(async () => (await Promise.all(keys.map(read))).some((s) => s.pid === e.child.pid), 45_000, 'keys on e');
    for (const key of keys) await account(key).send('charge', { id: `before:${key}`, amount: 1 }, { messageId: `before:${key}` });
    const onE = (await Promise.all(keys.map(read))).filter((s) => s.pid === e.child.pid).length;
    expect(onE).toBeGreaterThan(0);
    const left = Date.now();
    await e.leave();
    for (const key of keys) await account(key).send('charge', { id: `after:${key}`, amount: 1 }, { messageId: `after:${key}` });
    const states = await Promise.all(keys.map(read));
    expect(Date.now() - left).toBeLessThan(10_000); // not the 30 s it would take to be declared down
    for (const [i, state] of states.entries()) {
      expect(state.applied).toEqual([`before:${keys[i]}`, `after:${keys[i]}`]);
      expect(state.pid).not.toBe(e.child.pid);
    }
  }, 90_000);

  it('N4: a node killed with SIGKILL mid-load: its entities reactivate on survivors, and every confirmed send is handled exactly once by messageId', async () => {
    const d = await startNode(url, 'd', namespace, OPTIONS);
    await until(() => system.cluster!.members().length === 4, 20_000, 'four members');
    const keys = Array.from({ length: 40 }, (_, i) => `kill-${i}`);
    // Each key is read once, so that its activation exists before the kill (on d for about a quarter of them).
    await until(async () => new Set((await Promise.all(keys.map(read))).map((s) => s.pid)).size === 4, 45_000, 'keys on all four nodes');
    const onD = (await Promise.all(keys.map(read))).filter((s) => s.pid === d.child.pid).length;
    expect(onD).toBeGreaterThan(0);
    // Every charge sent at once, to keys that take 20 ms each: when d dies, messages it confirmed
    // wait in its keys' mailboxes, stored. A send that fails is sent again, with the same messageId.
    const confirmed = new Set<string>();
    const onDKeys = new Set((await Promise.all(keys.map(read))).flatMap((s, i) => (s.pid === d.child.pid ? [keys[i]!] : [])));
    let confirmedOnD = 0;
    const sendOnce = async (key: string, id: string): Promise<void> => {
      const deadline = Date.now() + 40_000;
      for (;;) {
        try {
          await account(key).send('slowCharge', { id, amount: 1 }, { messageId: id, timeoutMs: 5000 });
          confirmed.add(id);
          if (onDKeys.has(key)) confirmedOnD++;
          return;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const ROUNDS = 30;
    const load = Promise.all(keys.flatMap((key) => Array.from({ length: ROUNDS }, (_, r) => sendOnce(key, `${key}#${r}`))));
    await until(() => confirmedOnD >= onD * 10, 20_000, 'charges confirmed by d');
    await d.kill(); // a key takes 30 x 20 ms: most of what d confirmed waits, stored and not handled
    await load;
    expect(confirmed.size).toBe(keys.length * ROUNDS);
    // Every charge was confirmed, perhaps before d was even declared down: once it is, its keys are read from their new owners.
    await until(() => system.cluster!.members().length === 3, 10_000, 'd declared down');
    const states = await Promise.all(keys.map(read));
    for (const [i, state] of states.entries()) {
      const mine = state.applied.filter((id) => id.startsWith(`${keys[i]}#`));
      // On failure, which process handled each charge (R: handled again after a failure).
      const trace = `${keys[i]} (d was ${d.child.pid}): ${JSON.stringify((state as { trace?: string[] }).trace)}`;
      expect(mine.sort(), trace).toEqual(Array.from({ length: ROUNDS }, (_, r) => `${keys[i]}#${r}`).sort());
      expect(state.pid).not.toBe(d.child.pid);
    }
  }, 120_000);
});
