// N1, N2, N3: refs to actors on other nodes, with real processes on a real nats-server. This
// process is one node; the others are child processes (test/fixtures/cluster-node.ts), each
// with a Keeper on its worker thread ('keeper') and one on its main thread ('keeper-main').

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ActorFailedError,
  ActorInitializationError,
  ActorStoppedError,
  createSystem,
  defineActor,
  InvalidArgumentError,
  MessageTooLargeError,
  NodeDownError,
  SerializationError,
  type ActorRef,
  type ActorSystem,
  type DeadLetter,
} from 'troupe';
import { portableDefinition } from '../../src/actors/define.js';
import { Forwarder, Keeper } from '../fixtures/cluster-actors.js';
import { startNode, type NodeProcess } from '../support/cluster-nodes.js';
import { until } from '../support/wait.js';

const url = inject('natsUrl');
/** Defined here only: no other node's code defines it. */
const OnlyHere = defineActor(import.meta.url, 'OnlyInThisTest', { handlers: { hi: () => 'hi' } });
defineActor('data:text/javascript,export {}', 'FromData', { handlers: {} });
type Ref = ActorRef<typeof Keeper>;

describe.skipIf(url === '')('cluster: refs across nodes', () => {
  const namespace = `t${randomBytes(4).toString('hex')}`;
  let system: ActorSystem;
  let b: NodeProcess;
  let c: NodeProcess;
  const letters: DeadLetter[] = [];

  beforeAll(async () => {
    [b, c] = await Promise.all([startNode(url, 'b', namespace), startNode(url, 'c', namespace)]);
    system = await createSystem({ threads: 1, cluster: { servers: url, name: 'a', namespace, heartbeatMs: 200, downAfterMs: 1000, shards: 32 } });
    system.deadLetters.subscribe((letter) => letters.push(letter));
  }, 60_000);

  afterAll(async () => {
    await system?.shutdown();
    await Promise.all([b?.leave(), c?.leave()]);
  }, 30_000);

  const keeperOf = async (node: string, name = 'keeper'): Promise<Ref> => {
    const ref = await system.lookup<typeof Keeper>(name, { node });
    expect(ref, `${name} on ${node}`).toBeDefined();
    return ref!;
  };

  it('members: every node sees the others join, itself among them', async () => {
    await until(() => system.cluster!.members().length === 3, 10_000, 'three members');
    expect(system.cluster!.members().map((m) => m.name).sort()).toEqual(['a', 'b', 'c']);
    expect(system.cluster!.members().find((m) => m.self)!.name).toBe('a');
    expect(system.cluster!.name).toBe('a');
  });

  for (const name of ['keeper', 'keeper-main']) {
    it(`N1: tell, ask and send to an actor on another node (${name === 'keeper' ? 'its worker thread' : 'its main thread'}), in order per sender`, async () => {
      const keeper = await keeperOf('b', name);
      expect(String(keeper)).toContain('@b:');
      await keeper.ask('clear');
      for (let i = 0; i < 5000; i++) keeper.tell('note', i);
      expect(await keeper.send('note', 5000)).toEqual({ duplicate: false });
      const log = (await keeper.ask('log')) as number[];
      expect(log).toEqual(Array.from({ length: 5001 }, (_, i) => i));
      const value = { map: new Map([['k', [1, 2]]]), when: new Date(5), negative: -0, big: 2n ** 70n, nested: { list: [null, true, 'x'] } };
      const echoed = (await keeper.ask('echo', value)) as typeof value;
      expect(echoed).toEqual(value);
      expect(Object.is(echoed.negative, -0)).toBe(true);
    });
  }

  it('N1: refs travel: an actor on a worker here tells and asks a remote ref it was sent; a ref of this node that comes back is local again', async () => {
    const remote = await keeperOf('c');
    const local = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    await remote.ask('clear');
    // From a worker thread of this node, through main, to c's worker.
    const log = await local.ask('relay', { to: remote, lines: ['x', 'y', 'z'] });
    expect(log).toEqual(['x', 'y', 'z']);
    // The remote actor's own ref, as it sees itself, is the ref we hold.
    const self = (await remote.ask('self')) as Ref;
    expect(self.id).toBe(remote.id);
    // Node c asks an actor of this node through a ref it was sent; a ref of ours that comes home is local.
    const answer = (await remote.ask('askOther', { to: local, type: 'echo', payload: 'from c' })) as { ok: boolean; value: unknown };
    expect(answer).toEqual({ ok: true, value: 'from c' });
    const back = (await remote.ask('echo', local)) as Ref;
    expect(back.id).toBe(local.id);
    expect(String(back)).not.toMatch(/@[a-z]+:/); // a remote ref names its node: ActorRef(... @c:1)
    back.tell('note', 'home');
    expect(await local.ask('log')).toEqual(['home']);
  });

  it('N1: the same errors as between threads: a failing handler, a payload that cannot travel, a reply that cannot travel, a stopped actor', async () => {
    const local = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    for (const ref of [local, await keeperOf('b'), await keeperOf('b', 'keeper-main')]) {
      const failed = await ref.ask('fail', 'boom').catch((error: unknown) => error);
      expect(failed, String(ref)).toBeInstanceOf(ActorFailedError);
      expect((failed as Error).message).toContain('boom');
      expect(() => ref.tell('note', () => 1)).toThrow(SerializationError);
      await expect(ref.ask('echo', { f: () => 1 })).rejects.toThrow(SerializationError);
      await expect(ref.ask('badReply')).rejects.toThrow(SerializationError);
      // An AbortSignal: checked, honoured at once if already aborted, and when it fires later.
      await expect(ref.ask('echo', 1, { signal: 'soon' as never })).rejects.toThrow(InvalidArgumentError);
      await expect(ref.ask('echo', 1, { signal: AbortSignal.abort(new Error('gave up')) })).rejects.toThrow('gave up');
      await expect(ref.ask('slow', 5000, { signal: AbortSignal.timeout(50), timeoutMs: 20_000 })).rejects.toMatchObject({ name: 'TimeoutError' });
    }
    await expect(system.service<typeof Keeper>('keepers').ask('slow', 5000, { signal: AbortSignal.timeout(50), timeoutMs: 20_000 })).rejects.toMatchObject({ name: 'TimeoutError' });
    // A stopped actor on another node: an ask rejects as for a local one, a tell is a 'stopped' dead letter there.
    const doomed = await keeperOf('b', 'doomed');
    await doomed.ask('stopSelf').catch(() => undefined);
    await expect(doomed.ask('echo', 1)).rejects.toThrow(ActorStoppedError);
    doomed.tell('note', 'too late');
    const lettersOfB = await keeperOf('b', 'letters');
    await until(async () => ((await lettersOfB.ask('letters')) as { reason: string }[]).some((l) => l.reason === 'stopped'), 10_000, "b's stopped dead letter");
  });

  it('N1: a reply too large for NATS rejects its ask with MessageTooLargeError, not a timeout', async () => {
    const keeper = await keeperOf('b');
    await keeper.ask('clear');
    for (let i = 0; i < 300_000; i++) keeper.tell('note', i);
    expect(await keeper.ask('count')).toBe(300_000);
    await expect(keeper.ask('log', undefined, { timeoutMs: 20_000 })).rejects.toThrow(MessageTooLargeError);
    await keeper.ask('clear');
  });

  it('too large for the NATS server: a publish throws MessageTooLargeError at the call (from a worker, the thread reads on); a tell becomes a too-large dead letter', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024); // under maxMessageBytes, over NATS's max_payload (1 MiB)
    expect(() => system.publish('news', 'note', big)).toThrow(MessageTooLargeError);
    const publisher = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    await publisher.ask('publish', { topic: 'news', prefix: big, count: 1 });
    expect(await publisher.ask('echo', 'still reading')).toBe('still reading');
    expect(await system.spawn(Keeper, undefined, { placement: { thread: 0 } }).ask('echo', 'main too')).toBe('main too');
    const keeper = await keeperOf('b');
    keeper.tell('note', big);
    await until(() => letters.some((l) => l.reason === 'too-large' && l.recipient === keeper.id), 5000, 'the too-large dead letter');
    expect(await keeper.ask('echo', 'after')).toBe('after');
  });

  it('bytes from the wire: a forged answer settles nothing here, a malformed batch is refused whole, and the node goes on', async () => {
    const { connect } = await import('@nats-io/transport-node');
    const { encodeBatch, Entry } = await import('../../src/cluster/wire-batch.js');
    const nc = await connect({ servers: url });
    try {
      const slow = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
      const waiting = slow.ask('slow', 300);
      const inbox = `${namespace}.n.${system.cluster!.id}`;
      // Answers for every correlation id a node could be waiting on, from a system that asked nothing.
      const forged = Array.from({ length: 2000 }, (_, corr) => [Entry.Answer, corr + 1, true, 'forged'] as const);
      const reply = await nc.request(inbox, encodeBatch(['forger0000000', 'forger'], forged as never), { timeout: 5000 });
      expect(reply.data.length).toBe(0); // taken (and ignored)
      const malformed = await nc.request(inbox, encodeBatch(['forger0000000', 'forger'], [[Entry.Tell, 1, 2, 'note', 'ok', null], [Entry.Tell, 'x'] as never]), { timeout: 5000 });
      expect(new TextDecoder().decode(malformed.data)).toMatch(/shape/);
      const garbage = await nc.request(inbox, new Uint8Array([0xc1, 0xff, 0x00]), { timeout: 5000 });
      expect(garbage.data.length).toBeGreaterThan(0);
      expect(await waiting).toBe(300);
      expect(await (await keeperOf('b')).ask('echo', 'fine')).toBe('fine');
    } finally {
      await nc.close();
    }
  });

  it('N3: a node declared down that heartbeats again (paused past downAfterMs) joins again, and is reached again', async () => {
    const f = await startNode(url, 'f', namespace);
    await until(() => system.cluster!.member('f') !== undefined, 10_000, 'f to join');
    const keeper = await keeperOf('f');
    // f watches an actor of this node: declared down and back, it hears node-down for it (this node cut its watch).
    const watchedByF = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    await keeper.ask('watchOther', watchedByF);
    const events: string[] = [];
    const onLeave = (m: { name: string }, reason: string): void => void (m.name === 'f' && events.push(`leave:${reason}`));
    const onJoin = (m: { name: string }): void => void (m.name === 'f' && events.push('join'));
    system.cluster!.on('leave', onLeave);
    system.cluster!.on('join', onJoin);
    try {
      f.child.kill('SIGSTOP');
      await until(() => events.includes('leave:down'), 10_000, 'f declared down');
      await expect(keeper.ask('echo', 1)).rejects.toThrow(NodeDownError);
      f.child.kill('SIGCONT');
      await until(() => events.includes('join'), 10_000, 'f to join again');
      expect(await keeper.ask('echo', 'back')).toBe('back');
      await until(async () => ((await keeper.ask('ended')) as { id: string }[]).some((e) => e.id === watchedByF.id), 10_000, "f's node-down for the watch it lost");
      expect(((await keeper.ask('ended')) as { id: string; reason: string }[]).find((e) => e.id === watchedByF.id)!.reason).toBe('node-down');
    } finally {
      system.cluster!.off('leave', onLeave);
      system.cluster!.off('join', onJoin);
      f.child.kill('SIGCONT');
      await f.leave();
    }
  });

  it('lookup: a name on a given node, on any node, or on none', async () => {
    const onB = await keeperOf('b');
    const onC = await keeperOf('c');
    expect(onB.id).not.toBe(onC.id);
    expect(await system.lookup('letters')).toBeDefined(); // some node has it
    expect(await system.lookup('nobody')).toBeUndefined();
    // From an actor on a worker of this node (through main): the same search.
    const finder = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    expect(await finder.ask('lookupName', 'news-reader')).toMatch(/@(b|c):/);
    expect(await finder.ask('lookupName', 'nobody')).toBe('none');
    expect(await system.lookup('keeper', { node: 'a' })).toBeUndefined();
    await expect(system.lookup('keeper', { node: 42 as unknown as string })).rejects.toThrow(InvalidArgumentError);
    expect(() => system.register('theirs', onB)).toThrow(InvalidArgumentError);
  });

  it('placement { node }: system.start starts an actor on another node, on a worker picked there or on the thread given; spawn refuses and says why', async () => {
    const there = await system.start(Keeper, undefined, { placement: { node: 'b' } });
    expect(String(there)).toContain('@b:');
    expect(await there.ask('thread')).toBeGreaterThan(0); // a worker of b
    there.tell('note', 'hello');
    expect(await there.ask('log')).toEqual(['hello']);
    const onMain = await system.start(Keeper, undefined, { placement: { node: 'c', thread: 0 } });
    expect(String(onMain)).toContain('@c:0');
    expect(await onMain.ask('thread')).toBe(0);
    // This node by its own name: a local actor, as with any placement.
    const here = await system.start(Keeper, undefined, { placement: { node: 'a', thread: 1 } });
    expect(String(here)).not.toMatch(/@[a-z]+:/);
    expect(() => system.spawn(Keeper, undefined, { placement: { node: 'b' } })).toThrow(/system\.start/);
    await expect(system.start(Keeper, undefined, { placement: { node: 'nowhere' } })).rejects.toThrow(InvalidArgumentError);
    // What works on this node's actors only, so far: refused with a typed error, never taken for a local actor.
    await expect(system.move(there, 1)).rejects.toThrow(InvalidArgumentError);
    expect(() => system.subscribe('topic', there)).toThrow(InvalidArgumentError);
  });

  it("placement 'cluster': system.start puts each actor on the node with the fewest actors per thread, this one included", async () => {
    const before = new Map(system.cluster!.members().map((m) => [m.name, m.actors]));
    const started = [];
    for (let i = 0; i < 30; i++) started.push(await system.start(Keeper, undefined, { placement: 'cluster' }));
    const on = (ref: Ref): string => /@([a-z]+):/.exec(String(ref))?.[1] ?? 'a';
    const counts = new Map<string, number>();
    for (const ref of started) counts.set(on(ref), (counts.get(on(ref)) ?? 0) + 1);
    // Every node took some, and the loads end close (each node has one worker thread; every
    // node's count, this one's too, is as of its last heartbeat).
    expect([...counts.keys()].sort()).toEqual(['a', 'b', 'c']);
    const after = [...before].map(([name, actors]) => actors + (counts.get(name) ?? 0));
    expect(Math.max(...after) - Math.min(...after), `actors before ${JSON.stringify([...before])}, placed ${JSON.stringify([...counts])}`).toBeLessThanOrEqual(10);
    for (const ref of started) expect(await ref.ask('echo', 'ok')).toBe('ok');
    expect(() => system.spawn(Keeper, undefined, { placement: 'cluster' })).toThrow(/system\.start/);
    await Promise.all(started.map((ref) => system.stop(ref)));
  });

  it('stop and kill an actor of another node, from main and from a worker: resolved once it stopped there', async () => {
    const [a, b2, c2] = await Promise.all([0, 1, 2].map((i) => system.start(Keeper, undefined, { placement: { node: i === 2 ? 'c' : 'b' } })));
    await system.stop(a!);
    await expect(a!.ask('echo', 1)).rejects.toThrow(ActorStoppedError);
    await system.kill(b2!);
    await expect(b2!.ask('echo', 1)).rejects.toThrow(ActorStoppedError);
    const stopper = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    expect(await stopper.ask('stopOther', c2!)).toBe('stopped');
    await expect(c2!.ask('echo', 1)).rejects.toThrow(ActorStoppedError);
  });

  it('N3: death watch across nodes, from a worker and from main, both ways: Terminated with the actor\'s ref and reason; an unwatched one says nothing', async () => {
    const watchers = [system.spawn(Keeper, undefined, { placement: { thread: 1 } }), system.spawn(Keeper, undefined, { placement: { thread: 0 } })];
    const targets = await Promise.all([0, 1, 2].map(() => system.start(Keeper, undefined, { placement: { node: 'b' } })));
    for (const w of watchers) for (const t of targets) w.tell('watchOther', t);
    for (const w of watchers) w.tell('unwatchOther', targets[2]!);
    for (const w of watchers) await w.ask('log'); // the watches are made
    await targets[0]!.ask('stopSelf');
    await targets[1]!.ask('fail', 'boom').catch(() => undefined); // restarted, not ended: nothing to hear
    await targets[2]!.ask('stopSelf');
    for (const w of watchers) {
      await until(async () => ((await w.ask('ended')) as unknown[]).length > 0, 10_000, 'the Terminated');
      expect(await w.ask('ended')).toEqual([{ id: targets[0]!.id, reason: 'normal' }]);
    }
    // Node c watches an actor of this node, through a ref it was sent.
    const local = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    const remoteWatcher = await keeperOf('c');
    await remoteWatcher.ask('watchOther', local);
    await system.stop(local);
    await until(async () => ((await remoteWatcher.ask('ended')) as { id: string }[]).some((e) => e.id === local.id), 10_000, "c's Terminated");
    expect(((await remoteWatcher.ask('ended')) as { id: string; reason: string }[]).find((e) => e.id === local.id)!.reason).toBe('normal');
  });

  it('N7: a node starts for another only a definition its own code defined in a module file, found by its name; nothing from the wire is imported', async () => {
    const refused = await system.start(OnlyHere, undefined, { placement: { node: 'b' } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ActorInitializationError);
    expect((refused as Error).message).toContain('OnlyInThisTest');
    // A definition from a data: URL is never started for another node, nor one whose name two definitions share.
    expect(portableDefinition('FromData')).toBeNull();
    expect(portableDefinition('ClusterKeeper')).toBe(Keeper);
    // The nodes still work.
    expect(await (await keeperOf('b')).ask('echo', 'still here')).toBe('still here');
  });

  it('N5: topics span nodes: each plain subscriber on every node gets every message, in order per publisher; a group handles each message once cluster-wide', async () => {
    const reader = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    const biller = system.spawn(Keeper, undefined, { placement: { thread: 0 } });
    system.subscribe('news', reader);
    system.subscribe('orders', biller, { group: 'billing' });
    const others = await Promise.all(['b', 'c'].flatMap((node) => [keeperOf(node, 'news-reader'), keeperOf(node, 'biller')]));
    const readers = [reader, others[0]!, others[2]!];
    const billers = [biller, others[1]!, others[3]!];
    await Promise.all([...readers, ...billers].map((k) => k.ask('clear')));
    // (This node's subscriptions went to NATS on the connection its publishes take: NATS has them first.)
    // From main, then from an actor on a worker (through main).
    let local = 0;
    for (let i = 0; i < 50; i++) local += system.publish('news', 'note', `main${i}`);
    expect(local).toBe(50); // the copies for this node's plain subscriber; the others go over NATS
    const publisher = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    await publisher.ask('publish', { topic: 'news', prefix: 'worker', count: 50 });
    for (let i = 0; i < 90; i++) system.publish('orders', 'note', `order${i}`);
    const expected = [...Array.from({ length: 50 }, (_, i) => `main${i}`)];
    for (const r of readers) {
      await until(async () => ((await r.ask('log')) as unknown[]).length >= 100, 10_000, `${String(r)} to read the news`);
      const log = (await r.ask('log')) as string[];
      expect(log.filter((l) => l.startsWith('main'))).toEqual(expected);
      expect(log.filter((l) => l.startsWith('worker'))).toEqual(Array.from({ length: 50 }, (_, i) => `worker${i}`));
      expect(log).toHaveLength(100);
    }
    const handled = async (): Promise<string[]> => (await Promise.all(billers.map((b) => b.ask('log') as Promise<string[]>))).flat();
    await until(async () => (await handled()).length >= 90, 10_000, 'the orders');
    await new Promise((resolve) => setTimeout(resolve, 200)); // nothing more comes
    const orders = await handled();
    expect(orders.sort()).toEqual(Array.from({ length: 90 }, (_, i) => `order${i}`).sort());
  });

  it('N5: a pool that serves the cluster by name: calls from any node reach one member of one of its pools, each once; with none anywhere, as a pool with no members', async () => {
    const service = system.service<typeof Keeper>('keepers');
    const members = await Promise.all(['b', 'c'].flatMap((node) => [0, 1].map((i) => keeperOf(node, `keepers-${i}`))));
    await Promise.all(members.map((m) => m.ask('clear')));
    // Asks, one at a time: each answered by one member; over many, both nodes serve.
    const answeredBy = new Set<string>();
    for (let i = 0; i < 40; i++) answeredBy.add(/@([a-z]+):/.exec(String(await service.ask('self')))![1]!);
    expect([...answeredBy].sort()).toEqual(['b', 'c']);
    // Tells: every one handled once, by some member.
    for (let i = 0; i < 300; i++) service.tell('note', i);
    expect(await service.send('note', 300)).toEqual({ duplicate: false });
    // From an actor on a worker of this node too (through main).
    const asker = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    const fromWorker = (await asker.ask('askService', { name: 'keepers', type: 'self', count: 10 })) as string[];
    for (const who of fromWorker) expect(who).toMatch(/@(b|c):/);
    const handled = async (): Promise<number[]> => (await Promise.all(members.map((m) => m.ask('log') as Promise<number[]>))).flat();
    await until(async () => (await handled()).length >= 301, 10_000, 'the service tells');
    expect((await handled()).sort((x, y) => x - y)).toEqual(Array.from({ length: 301 }, (_, i) => i));
    // This node serves too, once it has a pool of that name (one per node); a stopped pool serves no more.
    const here = system.spawnPool(Keeper, undefined, { size: 1, service: 'keepers' });
    expect(() => system.spawnPool(Keeper, undefined, { size: 1, service: 'keepers' })).toThrow(InvalidArgumentError);
    let servedHere = false;
    for (let i = 0; i < 60 && !servedHere; i++) servedHere = !/@[a-z]+:/.test(String(await service.ask('self')));
    expect(servedHere).toBe(true);
    await here.stop();
    for (let i = 0; i < 20; i++) expect(String(await service.ask('self'))).toMatch(/@(b|c):/);
    // A member that cannot take a tell (a full bounded mailbox): a dead letter on the serving node, never a silent loss.
    const tiny = system.spawnPool(Keeper, undefined, { size: 1, service: 'tiny', mailbox: { capacity: 1 } });
    const tinyService = system.service<typeof Keeper>('tiny');
    for (let i = 0; i < 20; i++) tinyService.tell('note', `tiny${i}`);
    const full = (): number => letters.filter((l) => l.reason === 'mailbox-full' && String(l.message.payload).startsWith('tiny')).length;
    const tinyHandled = async (): Promise<number> => ((await tiny.members[0]!.ask('log').catch(() => null)) as unknown[] | null)?.length ?? -1; // its mailbox may be full for the ask too
    await until(async () => full() + (await tinyHandled()) === 20, 10_000, 'every tiny tell handled or a dead letter');
    expect(full()).toBeGreaterThan(0);
    // A pool that stops while tells flow to it: each is handled, or a dead letter, at once (not after a batch's 30 s timeout).
    const collector = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    const flappy = system.spawnPool(Forwarder, { to: collector }, { size: 1, service: 'flappy' });
    const flappyService = system.service<typeof Forwarder>('flappy');
    const started = performance.now();
    for (let i = 0; i < 200; i++) {
      flappyService.tell('note', `flap${i}`);
      if (i === 100) void flappy.stop();
      if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const flapLetters = (): number => letters.filter((l) => String(l.message.payload).startsWith('flap')).length;
    let seen = '';
    await until(
      async () => {
        const handled = ((await collector.ask('log')) as unknown[]).length;
        seen = `${handled} handled, dead letters ${JSON.stringify(letters.filter((l) => String(l.message.payload).startsWith('flap')).map((l) => l.reason).reduce<Record<string, number>>((m, r) => ({ ...m, [r]: (m[r] ?? 0) + 1 }), {}))}`;
        return handled + flapLetters() === 200;
      },
      10_000,
      'every flappy tell handled or a dead letter',
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${seen}`);
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    // No pool serves 'nobody': an ask rejects as a pool with no members does, a tell is a no-routee dead letter.
    await expect(system.service<typeof Keeper>('nobody').ask('echo', 1)).rejects.toThrow(ActorStoppedError);
    system.service<typeof Keeper>('nobody').tell('note', 'nobody home');
    await until(() => letters.some((l) => l.reason === 'no-routee' && l.message.payload === 'nobody home'), 5000, 'the no-routee dead letter');
  });

  it('N2, N3: a node killed with SIGKILL: an ask waiting on it fails fast with NodeDownError; it is declared down within the bound, its actors\' watchers hear node-down; tells to it become node-down dead letters', async () => {
    const d = await startNode(url, 'd', namespace);
    await until(() => system.cluster!.member('d') !== undefined, 10_000, 'd to join');
    const keeper = await keeperOf('d');
    const watcher = system.spawn(Keeper, undefined, { placement: { thread: 1 } });
    await watcher.ask('watchOther', keeper);
    const left = new Promise<{ reason: string; at: number }>((resolve) => {
      const on = (member: { name: string }, reason: string): void => {
        if (member.name !== 'd') return;
        system.cluster!.off('leave', on);
        resolve({ reason, at: performance.now() });
      };
      system.cluster!.on('leave', on);
    });
    const waiting = keeper.ask('slow', 60_000, { timeoutMs: 30_000 }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the ask is there
    const killedAt = performance.now();
    await d.kill();
    const error = await waiting;
    expect(error).toBeInstanceOf(NodeDownError);
    expect((error as NodeDownError).code).toBe('ERR_NODE_DOWN');
    const failedAfter = performance.now() - killedAt;
    expect(failedAfter, `the ask failed ${failedAfter} ms after the kill`).toBeLessThan(system.cluster!.downWithinMs + 2000); // not the ask's 30 s
    const leave = await left;
    expect(leave.reason).toBe('down');
    expect(leave.at - killedAt, `declared down ${leave.at - killedAt} ms after the kill`).toBeLessThan(system.cluster!.downWithinMs + 1000);
    // Its watchers here hear of its actors' end: node-down.
    await until(async () => ((await watcher.ask('ended')) as unknown[]).length > 0, 5000, 'the node-down Terminated');
    expect(await watcher.ask('ended')).toEqual([{ id: keeper.id, reason: 'node-down' }]);
    // Once it is known gone: an ask fails at once, a tell is a dead letter with its content.
    await expect(keeper.ask('echo', 1)).rejects.toThrow(NodeDownError);
    keeper.tell('note', 'to the dead');
    await until(() => letters.some((l) => l.reason === 'node-down' && l.message.payload === 'to the dead'), 5000, 'the node-down dead letter');
    expect(letters.find((l) => l.message.payload === 'to the dead')!.recipient).toBe(keeper.id);
  });

  it('N3: a node that shuts down leaves at once (reason left), and what it was sent before is handled', async () => {
    const e = await startNode(url, 'e', namespace);
    await until(() => system.cluster!.member('e') !== undefined, 10_000, 'e to join');
    const keeper = await keeperOf('e');
    for (let i = 0; i < 100; i++) keeper.tell('note', i);
    expect(await keeper.ask('count')).toBe(100);
    const left = new Promise<string>((resolve) => system.cluster!.once('leave', (_member, reason) => resolve(reason)));
    expect(await e.leave()).toBe(0);
    // 'left', not 'down': it said so itself (its membership key deleted), and was not found gone
    // by its heartbeats stopping (its key expiring, reported as 'down'). No bound on the time: its
    // shutdown stops its actors and hands over its shards first, as long as a loaded machine takes.
    expect(await left).toBe('left');
  });
});

describe('cluster options', () => {
  it('are checked before anything connects: typed errors, and a server that is not there fails createSystem', async () => {
    await expect(createSystem({ threads: 1, cluster: { servers: 5 as unknown as string } })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', name: 'a b' } })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', heartbeatMs: 1000, downAfterMs: 1500 } })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', bogus: 1 } as never })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', shards: 0 } })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', creds: 5 as never } })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', creds: 'x', authenticator: () => undefined } })).rejects.toThrow(InvalidArgumentError);
    // In a cluster, entities are kept in NATS: a store on disk besides is refused, not ignored.
    await expect(createSystem({ threads: 1, storage: { path: '/tmp/never-made' }, cluster: { servers: 'nats://127.0.0.1:1' } })).rejects.toThrow(InvalidArgumentError);
    await expect(createSystem({ threads: 1, cluster: { servers: 'nats://127.0.0.1:1', connection: { maxReconnectAttempts: 0, timeout: 500 } } })).rejects.toThrow(ActorInitializationError);
  });

  it('a system without a cluster has none, and a lookup on a node is refused', async () => {
    const alone = await createSystem({ threads: 1 });
    try {
      expect(alone.cluster).toBeNull();
      await expect(alone.lookup('x', { node: 'b' })).rejects.toThrow(InvalidArgumentError);
    } finally {
      await alone.shutdown();
    }
  });
});
