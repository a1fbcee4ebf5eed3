import { describe, expect, it } from 'vitest';
import { ActorStoppedError, type DeadLetter } from 'troupe';
import { Counter } from '../fixtures/counter.js';
import { LateTeller, Numbered, Overlap, Parent, Recorder, Reporter, Stateless, SupChild } from '../fixtures/actors.js';
import { until } from '../support/wait.js';
import { useSystem } from '../support/system.js';
import { TestProbe } from 'troupe/testing';

const systems = useSystem();

describe('lifecycle', () => {
  it('a loop of spawns from the main thread starts every actor, its batches split to fit a small maxMessageBytes', async () => {
    const system = await systems.start({ threads: 2, maxMessageBytes: 256 });
    const refs = Array.from({ length: 600 }, (_, i) => system.spawn(Numbered, 7, { placement: { thread: 1 + (i % 2) } }));
    expect(await Promise.all(refs.map((r) => r.ask('n')))).toEqual(refs.map(() => 7));
    // A spawn whose arguments alone do not fit is refused at the call, as ever.
    expect(() => system.spawn(Numbered, 'x'.repeat(400) as unknown as number, { placement: { thread: 1 } })).toThrow(/maxMessageBytes/);
  });

  it('L1: keeps messages told before the actor started, in order', async () => {
    const system = await systems.start({ threads: 2 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 1 } });
    for (let i = 1; i <= 100; i++) counter.tell('record', i);
    expect(await counter.ask('log')).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('L1: keeps messages told right after a local spawn on the main thread', async () => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 }, { placement: { thread: 0 } });
    for (let i = 1; i <= 100; i++) counter.tell('record', i);
    expect(await counter.ask('log')).toHaveLength(100);
  });

  it('L2: runs one message at a time, async handlers included', async () => {
    const system = await systems.start({ threads: 2 });
    const actor = system.spawn(Overlap, undefined);
    for (let i = 0; i < 50; i++) actor.tell('work', i);
    const log = await actor.ask('log');
    expect(log).toHaveLength(100);
    for (let i = 0; i < 50; i++) {
      expect(log[2 * i]).toBe(`enter ${i}`);
      expect(log[2 * i + 1]).toBe(`exit ${i}`);
    }
  });

  it('L3: a graceful stop processes what came before it; later messages become dead letters', async () => {
    const system = await systems.start({ threads: 2 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const probe = new TestProbe(system);
    const reporter = system.spawn(Reporter, { to: probe.refAs<typeof Recorder>() }, { placement: { thread: 2 } });
    for (let i = 1; i <= 10; i++) reporter.tell('slow', i);
    const stopped = system.stop(reporter, { graceful: true });
    for (let i = 11; i <= 15; i++) reporter.tell('n', i);
    await stopped;
    for (let i = 1; i <= 10; i++) expect((await probe.expectMessage('record')).payload).toBe(i);
    expect((await probe.expectMessage('record')).payload).toBe('stopped');
    await until(() => letters.length === 5, 5000, 'five dead letters');
    expect(letters.map((l) => [l.message.payload, l.reason, l.recipient])).toEqual(
      [11, 12, 13, 14, 15].map((n) => [n, 'stopped', reporter.id]),
    );
    await probe.expectNoMessage(50);
  });

  it('L3: stop lets the current message finish, runs onStop once, and dead-letters the queue', async () => {
    const system = await systems.start({ threads: 1 });
    const letters: DeadLetter[] = [];
    system.deadLetters.subscribe((l) => letters.push(l));
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const reporter = system.spawn(Reporter, { to: recorder }, { placement: { thread: 0 } });
    for (let i = 1; i <= 5; i++) reporter.tell('slow', i);
    await until(async () => (await recorder.ask('count')) >= 1, 5000, 'the first message');
    await system.stop(reporter);
    const seen = await recorder.ask('seen');
    expect(seen.filter((x) => x === 'stopped')).toHaveLength(1);
    const handled = seen.filter((x) => typeof x === 'number');
    expect(handled.length + letters.length).toBe(5);
    expect(letters.every((l) => l.reason === 'stopped')).toBe(true);
    expect(() => reporter.tell('n', 6)).toThrow(ActorStoppedError);
  });

  for (const thread of [0, 1]) {
    it(`L3: once stop() resolved, a tell throws ActorStoppedError and send and ask reject with it, on the actor's thread and any other (actor on thread ${thread})`, async () => {
      const system = await systems.start({ threads: 2 });
      const letters: DeadLetter[] = [];
      system.deadLetters.subscribe((l) => letters.push(l));
      const target = system.spawn(Recorder, undefined, { placement: { thread } });
      const collector = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
      // Watchers on the main thread and on both workers: one on the actor's thread, others not.
      const watchers = [0, 1, 2].map((t) => system.spawn(LateTeller, { to: collector }, { placement: { thread: t } }));
      for (const w of watchers) await w.ask('watch', target);
      await system.stop(target);
      expect(() => target.tell('record', 1)).toThrow(ActorStoppedError);
      await expect(target.send('record', 2)).rejects.toBeInstanceOf(ActorStoppedError);
      await expect(target.ask('count')).rejects.toBeInstanceOf(ActorStoppedError);
      // Each watcher, told of the end, tells once more: refused at the call, wherever it runs.
      await until(async () => (await collector.ask('count')) === 3, 5000, 'three watchers');
      expect(await collector.ask('seen')).toEqual(['ERR_ACTOR_STOPPED', 'ERR_ACTOR_STOPPED', 'ERR_ACTOR_STOPPED']);
      expect(letters).toEqual([]); // refused, not accepted: no dead letters
    });
  }

  for (const thread of [0, 1]) {
    it(`an actor without init is spawned with no arguments, and spawns one itself (thread ${thread})`, async () => {
      const system = await systems.start({ threads: 1 });
      const actor = system.spawn(Stateless, undefined, { placement: { thread } });
      expect(await actor.ask('ping')).toBe('pong');
      expect(await system.spawn(Stateless).ask('child')).toBe('pong');
      expect(await actor.ask('child')).toBe('pong');
    });
  }

  it('L4: stopping a parent stops all its children first, on every thread', async () => {
    const system = await systems.start({ threads: 2 });
    const recorder = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const parent = system.spawn(Parent, { to: recorder, n: 1000, spread: true }, { placement: { thread: 1 } });
    expect(await parent.ask('ping')).toBe('pong');
    // An actor that never started gets no onStop: let every child finish starting first.
    await until(async () => (await system.inspect()).filter((a) => a.status === 'running').length === 1002, 10_000, 'all children running');
    await system.stop(parent);
    await until(async () => (await recorder.ask('count')) === 1001, 5000, 'all stop reports');
    const seen = (await recorder.ask('seen')) as [string, number][];
    // Reports from different threads come over different rings, in no order between them: the
    // order of stops shows in when each onStop ran. The parent's ran after every child's.
    const parentAt = seen.find(([what]) => what === 'stop parent')![1];
    const children = seen.filter(([what]) => what !== 'stop parent');
    expect(new Set(children.map(([what]) => what)).size).toBe(1000);
    expect(Math.max(...children.map(([, at]) => at))).toBeLessThanOrEqual(parentAt);
    expect((await system.inspect()).map((a) => a.id)).toEqual([recorder.id]);
  });

  it('restarts behind the same ref after a failure, with fresh state', async () => {
    const system = await systems.start({ threads: 1 });
    const counter = system.spawn(Counter, { start: 0 });
    counter.tell('add', 3);
    await expect(counter.ask('fail', 'boom')).rejects.toMatchObject({ code: 'ERR_ACTOR_FAILED' });
    counter.tell('add', 2);
    expect(await counter.ask('get')).toBe(2);
  });

  it('L5: a restart keeps the ref and the queued messages; onRestart runs, onStop does not; the failing message is not run again', async () => {
    const system = await systems.start({ threads: 1 });
    const log = system.spawn(Recorder, undefined, { placement: { thread: 0 } });
    const child = system.spawn(SupChild, { name: 'a', log }, { placement: { thread: 1 } });
    for (let i = 0; i < 3; i++) child.tell('inc');
    child.tell('crash');
    child.tell('inc'); // queued behind the crash: kept for the new instance
    child.tell('inc');
    expect(await child.ask('get')).toBe(2);
    await until(async () => (await log.ask('count')) === 4, 5000, 'the log');
    expect(await log.ask('seen')).toEqual(['start a', 'crash a', 'restart a', 'start a']);
  });
});
