import { describe, expect, it } from 'vitest';
import type { DeadLetter } from 'troupe';
import { PauseGate, Pausable, Publisher, Recorder } from '../fixtures/actors.js';
import { useSystem } from '../support/system.js';
import { until } from '../support/wait.js';

const systems = useSystem();

describe('topics', () => {
  it('G5: each group gets one copy of every message, handled by one member; plain subscribers each get one', async () => {
    const system = await systems.start({ threads: 2 });
    const spawn = (i: number) => system.spawn(Recorder, undefined, { placement: { thread: 1 + (i % 2) } });
    const billing = [0, 1, 2].map(spawn);
    const shipping = [3, 4, 5].map(spawn);
    const audit = spawn(6);
    for (const r of billing) system.subscribe('orders', r, { group: 'billing' });
    for (const r of shipping) system.subscribe('orders', r, { group: 'shipping' });
    system.subscribe('orders', audit);

    for (let i = 0; i < 30; i++) expect(system.publish('orders', 'record', `m${i}`)).toBe(3);
    // From a worker thread too: the subscriptions reached it before this ask did (same ring).
    const publisher = system.spawn(Publisher, undefined, { placement: { thread: 2 } });
    expect(await publisher.ask('publishMany', { topic: 'orders', n: 30, prefix: 'w' })).toBe(90);

    const seen = async (refs: typeof billing) => (await Promise.all(refs.map((r) => r.ask('seen')))) as string[][];
    await until(async () => (await audit.ask('count')) === 60, 5000, 'all 60 at the plain subscriber');
    for (const group of [billing, shipping]) {
      const lists = await seen(group);
      const all = lists.flat();
      expect(all).toHaveLength(60);
      expect(new Set(all).size).toBe(60); // no duplicates within a group
      for (const list of lists) expect(list.length).toBeGreaterThan(0); // spread over members
    }
    expect((await audit.ask('seen')).length).toBe(60);
  });

  it('a subscriber that has just stopped costs the others on its thread nothing: they get their copies', async () => {
    const system = await systems.start({ threads: 1 });
    const gone = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    const others = [0, 1].map(() => system.spawn(Recorder, undefined, { placement: { thread: 1 } }));
    for (const ref of [gone, ...others]) system.subscribe('news', ref);
    // Its stop is known here at once (the liveness byte); that it left the topic, only once main
    // reads its rings again: published in between, without yielding.
    void system.stop(gone);
    await new Promise((resolve) => setImmediate(resolve)); // the stop goes out
    const deadline = Date.now() + 5000;
    for (let stopped = false; !stopped && Date.now() < deadline; ) {
      // Spin (main reads nothing from its rings meanwhile) until a tell to it is refused.
      try {
        gone.tell('count');
      } catch {
        stopped = true;
      }
    }
    expect(system.publish('news', 'record', 'after')).toBe(2);
    for (const ref of others) await until(async () => ((await ref.ask('seen')) as string[]).includes('after'), 5000, 'the copy');
  });

  it('one record per thread carries the copies for its subscribers; each copy is accounted for', async () => {
    const system = await systems.start({ threads: 2 });
    const dead: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => dead.push(l));
    const subscribers = Array.from({ length: 6 }, (_, i) => system.spawn(Recorder, undefined, { placement: { thread: 1 + (i % 2) } }));
    for (const r of subscribers) system.subscribe('ticks', r);
    // A full subscriber (paused, capacity 1, holding one) and a stopped one, on thread 1 too.
    const full = system.spawn(Pausable, undefined, { placement: { thread: 1 }, mailbox: { capacity: 1 } });
    const gate = system.spawn(PauseGate, undefined, { placement: { thread: 1 } });
    full.tell('pause');
    await until(() => gate.ask('paused'), 5000, 'the full subscriber to pause');
    full.tell('rec', 'filler');
    system.subscribe('ticks', full);
    const gone = system.spawn(Recorder, undefined, { placement: { thread: 1 } });
    system.subscribe('ticks', gone);
    const before = system.stats();
    await system.stop(gone);

    const outRecords = (s: typeof before) => s.threads[0]!.messagesOut;
    const records = outRecords(system.stats());
    // The stopped subscriber left every topic as it stopped; the full one refuses its copies.
    for (let i = 0; i < 20; i++) expect(system.publish('ticks', 'record', i)).toBe(6);
    // Two records a publish (one per worker), not six.
    expect(outRecords(system.stats()) - records).toBeLessThanOrEqual(40 + 2);
    await until(async () => (await Promise.all(subscribers.map((r) => r.ask('count')))).every((n) => n === 20), 5000, 'every copy');
    for (const r of subscribers) expect(await r.ask('seen')).toEqual([...Array(20).keys()]);
    expect(dead.filter((l) => l.reason === 'stopped')).toEqual([]);
    const after = system.stats();
    expect(after.rejected - before.rejected).toBe(20); // the full one refused its copies at publish time
    await gate.ask('open');
    await until(() => {
      const s = system.stats();
      return s.accepted === s.handled + s.deadLetters + s.duplicates;
    }, 5000, 'the conservation law');
  });

  it('lets an actor subscribe itself, and stops delivering after unsubscribe', async () => {
    const system = await systems.start({ threads: 1 });
    const joiner = system.spawn(Publisher, undefined, { placement: { thread: 1 } });
    await joiner.ask('join', { topic: 'news' });
    // The subscription reaches the main thread's table when its notice arrives.
    await until(() => system.publish('news', 'record', 'hello') === 1, 5000, 'the subscription to reach main');
    expect(await joiner.ask('got')).toContain('hello');
    system.unsubscribe('news', joiner);
    expect(system.publish('news', 'record', 'late')).toBe(0);
  });

  it('publishing to a topic nobody follows reaches nobody', async () => {
    const system = await systems.start({ threads: 1 });
    expect(system.publish('silence', 'record', 1)).toBe(0);
  });
});
